package main

import (
	"context"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/devnet"
)

// startRPCDevnet starts a test devnet whose chain RPC is served on a free
// loopback port (the chain reports the address it was given, so it is
// picked here), with set adjusting the config first. It returns the
// network, its RPC URL and a context bounding the test.
func startRPCDevnet(t *testing.T, set func(*devnet.Config)) (*devnet.Network, string, context.Context) {
	t.Helper()
	cfg := devnet.TestConfig(t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RPC = ln.Addr().String()
	ln.Close()
	if set != nil {
		set(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	n, err := devnet.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	rpc := n.RPCAddress()
	if !strings.Contains(rpc, "://") {
		rpc = "http://" + rpc
	}
	return n, rpc, ctx
}

// postCertified posts a random blob of size bytes to n and waits until it
// is certified.
func postCertified(t *testing.T, ctx context.Context, n *devnet.Network, size int) da.BlobKey {
	t.Helper()
	cl := client.New(n.URL(), client.WithPollInterval(20*time.Millisecond))
	blob := make([]byte, size)
	rand.Read(blob)
	put, err := cl.Put(ctx, blob)
	if err == nil {
		_, err = cl.WaitCertified(ctx, put.BlobKey)
	}
	if err != nil {
		t.Fatal(err)
	}
	return put.BlobKey
}
