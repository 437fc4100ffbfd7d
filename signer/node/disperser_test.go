package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/internal/p2pkey"
	"github.com/zgda/zgda/signer/node"
)

// A peer the chain does not register as a disperser is refused before the
// node reads a byte of its request, and nothing is stored.
func TestUnregisteredDisperserRefused(t *testing.T) {
	c := newCluster(t, 1, nil)
	nd := c.nodes[0]
	stranger, err := dispersal.NewHost(nil) // a fresh identity
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stranger.Close() })

	// A whole, valid request: refused as unregistered.
	req := c.requestFor(encodeBatch(t, 1, 50_000), nd.Index())
	ans := c.sendFrom(stranger, nd, da.ProtocolDisperse, req)
	r, ok := ans.(*da.DisperseResponse)
	if !ok || r.OK || r.Code != da.CodeUnregistered || !strings.Contains(r.Reason, "not registered") {
		t.Fatalf("answer %#v, want an unregistered refusal", ans)
	}
	// Nothing sent at all: the refusal comes at once, not after the header
	// timeout, so no byte of the stream was waited for.
	start := time.Now()
	ans, err = c.sendRawFrom(stranger, nd, da.ProtocolDisperse, nil)
	if r, ok := ans.(*da.DisperseResponse); err != nil || !ok || r.Code != da.CodeUnregistered {
		t.Fatalf("empty stream: %#v %v", ans, err)
	}
	if took, limit := time.Since(start), time.Duration(node.TestLimitsConfig().HeaderTimeout); took >= limit {
		t.Fatalf("refused after %v, not before the %v header timeout", took, limit)
	}
	for _, p := range []string{"row/", "hdr/", "quota/"} {
		if n := c.count(0, p); n != 0 {
			t.Fatalf("%d %s keys stored for an unregistered disperser", n, p)
		}
	}
	// The registered client gets the same request signed.
	if r, ok := c.send(nd, da.ProtocolDisperse, req).(*da.DisperseResponse); !ok || !r.OK {
		t.Fatalf("registered disperser: %#v", r)
	}
}

// A disperser registered by transaction with a quota of two one-row
// batches per epoch: both are signed, a retry of one costs nothing, the
// third batch is refused with nothing stored, and a restarted node still
// knows what was used.
func TestDisperserQuota(t *testing.T) {
	c := newCluster(t, 1, nil)
	nd := c.nodes[0]
	ctx := ctxT(t, 60*time.Second)
	id := p2pkey.FromSeed([]byte("quota test"), "0")
	key := chain.DisperserKey(p2pkey.PublicKey(id))
	const quota = 2 * da.RowSize // two batches of D = 1
	if _, err := c.client.Submit(ctx, chain.NewDisperserTx(testChainID, key, quota, 1, c.registrar)); err != nil {
		t.Fatal(err)
	}
	if d, err := c.client.Disperser(ctx, key); err != nil || d.Quota != quota || d.Nonce != 1 {
		t.Fatalf("registered: %+v %v", d, err)
	}
	h, err := dispersal.NewHost(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	disperse := func(seed uint64) *da.DisperseResponse {
		t.Helper()
		req := c.requestFor(encodeBatch(t, seed, 50_000), nd.Index())
		r, ok := c.sendFrom(h, nd, da.ProtocolDisperse, req).(*da.DisperseResponse)
		if !ok {
			t.Fatalf("batch %d: not a dispersal answer", seed)
		}
		return r
	}
	for _, seed := range []uint64{1, 2, 1} { // the second 1 is a retry
		if r := disperse(seed); !r.OK {
			t.Fatalf("batch %d within the quota: %v %s", seed, r.Code, r.Reason)
		}
	}
	rows := c.count(0, "row/")
	over := func() {
		t.Helper()
		r := disperse(3)
		if r.OK || r.Code != da.CodeOverQuota || !strings.Contains(r.Reason, "has used 262144 of its 262144 bytes") {
			t.Fatalf("batch past the quota: %#v", r)
		}
		if c.count(0, "row/") != rows || c.count(0, "hdr/") != 2 || c.count(0, "quota/") != 2 {
			t.Fatalf("a refused batch stored something: %d rows (had %d), %d headers, %d quota records",
				c.count(0, "row/"), rows, c.count(0, "hdr/"), c.count(0, "quota/"))
		}
	}
	over()
	// Another disperser's quota is its own.
	if r, ok := c.send(nd, da.ProtocolDisperse, c.requestFor(encodeBatch(t, 3, 50_000), nd.Index())).(*da.DisperseResponse); !ok || !r.OK {
		t.Fatalf("another disperser: %#v", r)
	}
	rows = c.count(0, "row/")
	c.stop(0)
	nd, err = c.startNode(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[0] = nd
	// The other disperser stored batch 3, so use a fresh one for the check.
	r := func() *da.DisperseResponse {
		req := c.requestFor(encodeBatch(t, 4, 50_000), nd.Index())
		a, _ := c.sendFrom(h, nd, da.ProtocolDisperse, req).(*da.DisperseResponse)
		return a
	}()
	if r == nil || r.OK || r.Code != da.CodeOverQuota {
		t.Fatalf("after a restart: %#v", r)
	}
	if c.count(0, "row/") != rows {
		t.Fatal("a refused batch stored rows after the restart")
	}
}
