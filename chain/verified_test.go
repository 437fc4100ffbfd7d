package chain

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zgda/zgda/da"
)

// tamperProxy forwards JSON-RPC to a CometBFT RPC and, while rewrite is
// set, lets it change the result of each abci_query answer: the decoded
// value (JSON) and the answered height.
type tamperProxy struct {
	target  string
	rewrite atomic.Pointer[func(path string, value []byte, height int64, code uint32) ([]byte, int64, uint32)]
}

func (p *tamperProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var call struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	json.Unmarshal(body, &call)
	resp, err := http.Post(p.target, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if f := p.rewrite.Load(); f != nil && call.Method == "abci_query" {
		var params struct {
			Path string `json:"path"`
		}
		json.Unmarshal(call.Params, &params)
		var env map[string]any
		if json.Unmarshal(out, &env) == nil {
			if res, ok := env["result"].(map[string]any); ok {
				if rr, ok := res["response"].(map[string]any); ok {
					val, _ := base64.StdEncoding.DecodeString(asString(rr["value"]))
					var h int64
					json.Unmarshal([]byte(asString(rr["height"])), &h)
					code, _ := rr["code"].(float64)
					nv, nh, nc := (*f)(params.Path, val, h, uint32(code))
					rr["value"] = base64.StdEncoding.EncodeToString(nv)
					rr["height"] = json.Number(itoa(nh))
					if nc != 0 {
						rr["code"], rr["codespace"], rr["log"] = nc, Codespace, "not found"
					} else {
						delete(rr, "code")
					}
					out, _ = json.Marshal(env)
				}
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// A verifying client (light-client headers from a trust root, ICS-23 proofs
// against their app hashes) gives the same answers as the plain one from an
// honest RPC, and refuses with ErrVerification every answer a proxy
// rewrote: a quorum member, a certificate's signer bitmap, a blob's batch,
// the answered height, a certificate said to be unknown; the plain client
// believes them all.
func TestVerifiedClientRefusesTamperedAnswers(t *testing.T) {
	g, keys, _ := testGenesis(t, 4, 1<<20)
	home := t.TempDir()
	if err := InitHome(home, InitOptions{ChainID: testChainID, Genesis: g, Config: testNodeConfig(t, true)}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 2*time.Minute)
	n, err := StartNode(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
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
	proxy := &tamperProxy{target: normalizeRPC(n.RPCAddress())}
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

	type rewriter = func(string, []byte, int64, uint32) ([]byte, int64, uint32)
	edit := func(path string, f func(m map[string]any)) rewriter {
		return func(p string, v []byte, h int64, code uint32) ([]byte, int64, uint32) {
			if p != path {
				return v, h, code
			}
			var m map[string]any
			if json.Unmarshal(v, &m) != nil {
				return v, h, code
			}
			f(m)
			out, _ := json.Marshal(m)
			return out, h, code
		}
	}
	for _, tc := range []struct {
		name    string
		rewrite rewriter
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
		{"the height", func(p string, v []byte, h int64, code uint32) ([]byte, int64, uint32) { return v, h - 1, code },
			func() error { _, err := plain.Certificate(ctx, cert.BatchRoot); return err }, func() error { _, err := vc.Certificate(ctx, cert.BatchRoot); return err }},
		{"a certified blob said unknown", func(p string, v []byte, h int64, code uint32) ([]byte, int64, uint32) {
			if p != QueryBlobBatch {
				return v, h, code
			}
			return nil, h, CodeNotFound
		}, func() error {
			if _, err := plain.BlobBatch(ctx, cert.Blobs[2].Key); !IsNotFound(err) {
				return fmt.Errorf("plain client: %v", err)
			}
			return nil
		}, func() error { _, err := vc.BlobBatch(ctx, cert.Blobs[2].Key); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy.rewrite.Store(&tc.rewrite)
			defer proxy.rewrite.Store(nil)
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
