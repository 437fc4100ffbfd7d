package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/devnet"
)

// `zgda pora` on a devnet with 20-block epochs: after a certified blob and a
// finished epoch, the table (and JSON) shows every DA node challenged and
// answering in time.
func TestPoraCommand(t *testing.T) {
	n, rpc, ctx := startRPCDevnet(t, func(cfg *devnet.Config) {
		cfg.EpochLength = 20
		cfg.Params = func(p *chain.Params) { p.PoRAChallenges, p.PoRADeadline = 2, 15 }
	})
	postCertified(t, ctx, n, 40_000)
	st, err := n.Chain().Client().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := st.Epoch + 1 // challenged on the blob's batch
	if err := n.Chain().Client().WaitForHeight(ctx, 1+int64((e+1)*20)+1); err != nil {
		t.Fatal(err)
	}
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
	out, err = run(t, "pora", "--chain-rpc", rpc, "--trust", n.TrustFile())
	if err != nil || !strings.Contains(out, "in time") || strings.Count(out, "\n") != 6 {
		t.Fatalf("pora table: %v\n%s", err, out)
	}
}
