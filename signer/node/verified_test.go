package node_test

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/internal/rpcproxy"
	"github.com/zgda/zgda/signer/node"
)

// A node that verifies the chain (chain.trust_file) refuses to sign while
// its RPC lies about the quorums, and signs the same request once the RPC
// answers honestly (docs/spec.md §6 Verified reads).
func TestNodeRefusesUnprovableQuorum(t *testing.T) {
	c := newCluster(t, 1, nil)
	ctx := ctxT(t, 2*time.Minute)
	if err := c.client.WaitForHeight(ctx, 3); err != nil {
		t.Fatal(err)
	}
	proxy := &rpcproxy.Proxy{Target: c.chain.RPCAddress()}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	c.stop(0)
	cfg := nodeConfig(t, c.homes[0])
	cfg.Chain.RPC = srv.URL
	cfg.Chain.TrustFile = filepath.Join(c.homes[0], chain.TrustFile)
	if err := c.chain.WriteTrustFile(cfg.Chain.TrustFile); err != nil {
		t.Fatal(err)
	}
	nd, err := node.Start(ctx, cfg, c.keys[0])
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[0] = nd
	req := c.requestFor(encodeBatch(t, 7, 50_000), nd.Index())

	proxy.Set(rpcproxy.EditJSON(chain.QueryEpoch, func(m map[string]any) {
		q := m["quorums"].([]any)[0].([]any)
		q[0] = float64(7) // a signer that does not exist
	}))
	r, ok := c.send(nd, da.ProtocolDisperse, req).(*da.DisperseResponse)
	if !ok || r.OK || !strings.Contains(r.Reason, "chain data failed verification") {
		t.Fatalf("with a lying RPC: %#v, want a refusal naming the failed verification", r)
	}
	if n := c.count(0, "row/"); n != 0 {
		t.Fatalf("%d rows stored for an unprovable quorum", n)
	}
	proxy.Set(nil)
	if r, ok := c.send(nd, da.ProtocolDisperse, req).(*da.DisperseResponse); !ok || !r.OK {
		t.Fatalf("with an honest RPC: %#v", r)
	}
}
