package chain

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/internal/rpcproxy"
	"github.com/zgda/zgda/signer"
)

// startVerifiedTestNode starts a 4-signer validator (its RPC listening when
// rpc), stopped when the test ends.
func startVerifiedTestNode(t *testing.T, rpc bool) (*Node, []*signer.Key, context.Context) {
	t.Helper()
	g, keys, _ := testGenesis(t, 4, 1<<20)
	home := t.TempDir()
	if err := InitHome(home, InitOptions{ChainID: testChainID, Genesis: g, Config: testNodeConfig(t, rpc)}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 2*time.Minute)
	n, err := StartNode(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	return n, keys, ctx
}

// A verifying client (light-client headers from a trust root, ICS-23 proofs
// against their app hashes) gives the same answers as the plain one from an
// honest RPC, and refuses with ErrVerification every answer a proxy
// rewrote: a quorum member, a certificate's signer bitmap, a blob's batch,
// the answered height, a certificate said to be unknown; the plain client
// believes them all.
func TestVerifiedClientRefusesTamperedAnswers(t *testing.T) {
	n, keys, ctx := startVerifiedTestNode(t, true)
	cert := certify(t, keys, testChainID, 0, 0, blobs("verified", 3, 4), 0, 1, 2)
	res, err := n.Client().Submit(ctx, certTx(t, cert))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Client().WaitForHeight(ctx, res.Height+2); err != nil {
		t.Fatal(err)
	}
	root, err := TrustRootAt(ctx, n.RPCAddress(), 1)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &rpcproxy.Proxy{Target: normalizeRPC(n.RPCAddress())}
	srv := httptest.NewServer(proxy)
	defer srv.Close()

	vc, err := DialVerified(ctx, srv.URL, *root)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	plain, err := Dial(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	// Honest: the same answers.
	got, err := vc.Certificate(ctx, cert.BatchRoot)
	if err != nil || got.Certificate.BatchRoot != cert.BatchRoot || got.Height != res.Height {
		t.Fatalf("verified certificate: %+v %v", got, err)
	}
	loc, err := vc.BlobBatch(ctx, cert.Blobs[2].Key)
	if err != nil || loc.BatchRoot != cert.BatchRoot || loc.Offset != 8 {
		t.Fatalf("verified blob batch: %+v %v", loc, err)
	}
	ep, err := vc.Epoch(ctx, 0)
	pep, perr := plain.Epoch(ctx, 0)
	if err != nil || perr != nil || len(ep.Quorums) == 0 || !slicesEqual(ep.Quorums[0], pep.Quorums[0]) {
		t.Fatalf("verified epoch: %v %v", err, perr)
	}
	signers, err := vc.Signers(ctx)
	if err != nil || len(signers) != 4 {
		t.Fatalf("verified signers: %d %v", len(signers), err)
	}
	if _, err := vc.Certificate(ctx, da.Hash{0xab}); !IsNotFound(err) {
		t.Fatalf("an unknown certificate: %v, want a proven not found", err)
	}
	if recs, err := vc.CertificatesAt(ctx, res.Height); err != nil || len(recs) != 1 || recs[0].Certificate.BatchRoot != cert.BatchRoot {
		t.Fatalf("verified certificates at %d: %+v %v", res.Height, recs, err)
	}

	edit := rpcproxy.EditJSON
	for _, tc := range []struct {
		name    string
		rewrite rpcproxy.Rewrite
		plain   func() error // what the plain client then believes
		check   func() error
	}{
		{"a quorum member", edit(QueryEpoch, func(m map[string]any) {
			q := m["quorums"].([]any)[0].([]any)
			q[0], q[1] = q[1], q[0]
			if q[0] == q[1] {
				q[0] = float64(3)
			}
		}), func() error { _, err := plain.Epoch(ctx, 0); return err }, func() error { _, err := vc.Epoch(ctx, 0); return err }},
		{"a certificate's signer bitmap", edit(QueryCertificate, func(m map[string]any) {
			m["certificate"].(map[string]any)["signers"] = "0xff"
		}), func() error { _, err := plain.Certificate(ctx, cert.BatchRoot); return err }, func() error { _, err := vc.Certificate(ctx, cert.BatchRoot); return err }},
		{"a blob's batch", edit(QueryBlobBatch, func(m map[string]any) {
			m["batch_root"] = da.Hash{1}.String()
		}), func() error { _, err := plain.BlobBatch(ctx, cert.Blobs[2].Key); return err }, func() error { _, err := vc.BlobBatch(ctx, cert.Blobs[2].Key); return err }},
		{"the height", func(a *rpcproxy.Answer) { a.Height-- },
			func() error { _, err := plain.Certificate(ctx, cert.BatchRoot); return err }, func() error { _, err := vc.Certificate(ctx, cert.BatchRoot); return err }},
		{"a certified blob said unknown", func(a *rpcproxy.Answer) {
			if a.Path == QueryBlobBatch {
				a.Value, a.Code = nil, CodeNotFound
			}
		}, func() error {
			if _, err := plain.BlobBatch(ctx, cert.Blobs[2].Key); !IsNotFound(err) {
				return fmt.Errorf("plain client: %v", err)
			}
			return nil
		}, func() error { _, err := vc.BlobBatch(ctx, cert.Blobs[2].Key); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy.Set(tc.rewrite)
			defer proxy.Set(nil)
			if err := tc.plain(); err != nil && !strings.Contains(tc.name, "signer bitmap") {
				t.Fatalf("the plain client noticed: %v", err)
			}
			if err := tc.check(); !errors.Is(err, ErrVerification) {
				t.Fatalf("verified client: %v, want ErrVerification", err)
			}
		})
	}
	// Without the proxy's edits the verified client works again.
	if _, err := vc.Certificate(ctx, cert.BatchRoot); err != nil {
		t.Fatal(err)
	}
	// Another chain's trust root is refused at once.
	other := *root
	other.ChainID = "zgda-other"
	if _, err := DialVerified(ctx, srv.URL, other); !errors.Is(err, ErrVerification) {
		t.Fatalf("another chain's trust root: %v", err)
	}
	bad := *root
	bad.Hash = strings.Repeat("00", 32)
	if _, err := DialVerified(ctx, srv.URL, bad); !errors.Is(err, ErrVerification) {
		t.Fatalf("a wrong trusted hash: %v", err)
	}
}

// A node's in-process verifying client answers as the plain in-process
// client does, proves what it reads from the trust root, and refuses to
// start from a root whose header hash is not the chain's or whose chain id
// is another's.
func TestNodeVerifiedClient(t *testing.T) {
	n, keys, ctx := startVerifiedTestNode(t, false)
	if err := n.Client().WaitForHeight(ctx, 1); err != nil {
		t.Fatal(err)
	}
	root, err := n.TrustRoot(1)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := n.VerifiedClient(ctx, *root)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	if _, ok := vc.(*verifiedClient); !ok {
		t.Fatalf("VerifiedClient returned a %T", vc)
	}
	cert := certify(t, keys, testChainID, 0, 0, blobs("in-process", 2, 4), 0, 1, 2)
	res, err := vc.Submit(ctx, certTx(t, cert))
	if err != nil {
		t.Fatal(err)
	}
	got, err := vc.Certificate(ctx, cert.BatchRoot)
	if err != nil || got.Height != res.Height || got.Certificate.BatchRoot != cert.BatchRoot {
		t.Fatalf("verified certificate: %+v %v", got, err)
	}
	loc, err := vc.BlobBatch(ctx, cert.Blobs[1].Key)
	ploc, perr := n.Client().BlobBatch(ctx, cert.Blobs[1].Key)
	if err != nil || perr != nil || *loc != *ploc {
		t.Fatalf("blob batch: verified %+v %v, plain %+v %v", loc, err, ploc, perr)
	}

	bad := *root
	bad.Hash = strings.Repeat("ab", 32)
	if _, err := n.VerifiedClient(ctx, bad); !errors.Is(err, ErrVerification) {
		t.Fatalf("a trust root with another header hash: %v, want ErrVerification", err)
	}
	other := *root
	other.ChainID = "another-chain"
	if _, err := n.VerifiedClient(ctx, other); !errors.Is(err, ErrVerification) || !strings.Contains(err.Error(), "another-chain") {
		t.Fatalf("a trust root of another chain: %v", err)
	}
}
