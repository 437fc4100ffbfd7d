package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/devnet"
)

// `zgda pora` on a devnet with 20-block epochs: after a certified blob and a
// finished epoch, the table (and JSON) shows every DA node challenged and
// answering in time.
func TestPoraCommand(t *testing.T) {
	resetFlags("pora")
	t.Cleanup(func() { resetFlags("pora") })
	cfg := devnet.TestConfig(t.TempDir())
	cfg.EpochLength = 20
	cfg.Params = func(p *chain.Params) { p.PoRAChallenges, p.PoRADeadline = 2, 15 }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RPC = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n, err := devnet.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	cl := client.New(n.URL(), client.WithPollInterval(20*time.Millisecond))
	blob := make([]byte, 40_000)
	rand.Read(blob)
	put, err := cl.Put(ctx, blob)
	if err == nil {
		_, err = cl.WaitCertified(ctx, put.BlobKey)
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := n.Chain().Client().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := st.Epoch + 1 // challenged on the blob's batch
	if err := n.Chain().Client().WaitForHeight(ctx, 1+int64((e+1)*20)+1); err != nil {
		t.Fatal(err)
	}
	rpc := n.RPCAddress()
	out, err := run(t, "pora", "--chain-rpc", rpc, "--json")
	var scores []chain.Score
	if err != nil || json.Unmarshal([]byte(out), &scores) != nil || len(scores) != 4 {
		t.Fatalf("pora --json: %v\n%s", err, out)
	}
	for _, s := range scores {
		if s.Epoch != e || s.Challenged == 0 || s.InTime != s.Challenged || s.Points != uint64(s.InTime) {
			t.Fatalf("score %+v", s)
		}
	}
	resetFlags("pora")
	out, err = run(t, "pora", "--chain-rpc", rpc, "--trust", n.TrustFile())
	if err != nil || !strings.Contains(out, "in time") || strings.Count(out, "\n") != 6 {
		t.Fatalf("pora table: %v\n%s", err, out)
	}
}
