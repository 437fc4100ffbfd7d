package main

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/internal/rpcproxy"
)

func exitCode(err error) int {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

// `zgda verify` and `zgda sample --trust` through an RPC proxy in front of a
// devnet's chain: with honest answers the blob and its certificate verify
// and the blob is available; while the proxy rewrites a quorum member, the
// certificate's signer bitmap, the blob's batch or the answered height,
// verify exits 2 and sample fails with "chain data failed verification",
// never reporting the blob available or unknown.
func TestVerifyAndSampleAgainstLyingRPC(t *testing.T) {
	n, rpc, ctx := startRPCDevnet(t, nil)
	blobKey := postCertified(t, ctx, n, 50_000)
	key := blobKey.String()
	rec, err := n.Chain().Client().CertificateForBlob(ctx, blobKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "cert.json")
	raw, _ := json.Marshal(rec)
	os.WriteFile(certFile, raw, 0o644)

	proxy := &rpcproxy.Proxy{Target: rpc}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	trust := n.TrustFile()
	verify := func(args ...string) (string, error) {
		return run(t, append([]string{"verify", "--trust", trust, "--chain-rpc", srv.URL}, args...)...)
	}
	sample := func() (string, error) {
		return run(t, "sample", key, "--trust", trust, "--chain-rpc", srv.URL, "--log-level", "error")
	}

	if out, err := verify(key); err != nil || !strings.Contains(out, "VALID: blob "+key) {
		t.Fatalf("honest verify: %v\n%s", err, out)
	}
	if out, err := verify("--certificate", certFile, "--json"); err != nil || !strings.Contains(out, `"valid":true`) {
		t.Fatalf("honest verify --certificate: %v\n%s", err, out)
	}
	if out, err := sample(); err != nil || !strings.Contains(out, "AVAILABLE") {
		t.Fatalf("honest sample: %v\n%s", err, out)
	}
	// A certificate file whose signature is not the recorded one: invalid.
	bad := rec.Certificate
	bad.Signature[5] ^= 1
	raw, _ = json.Marshal(bad)
	badFile := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(badFile, raw, 0o644)
	if _, err := verify("--certificate", badFile); exitCode(err) != 2 {
		t.Fatalf("a forged certificate file: exit %d (%v), want 2", exitCode(err), err)
	}
	// No trust root: could not check.
	if _, err := run(t, "verify", key, "--chain-rpc", srv.URL); exitCode(err) != 1 || !strings.Contains(err.Error(), "trust root") {
		t.Fatalf("verify without a trust root: %v", err)
	}

	for _, tc := range []struct {
		name    string
		rewrite rpcproxy.Rewrite
	}{
		{"a quorum member", rpcproxy.EditJSON(chain.QueryEpoch, func(m map[string]any) {
			if qs, ok := m["quorums"].([]any); ok && len(qs) > 0 {
				q := qs[0].([]any)
				q[0] = float64(3 - int(q[0].(float64))%4)
			}
		})},
		{"the certificate's signer bitmap", func(a *rpcproxy.Answer) {
			for _, p := range []string{chain.QueryCertificate, chain.QueryBlob} {
				rpcproxy.EditJSON(p, func(m map[string]any) {
					m["certificate"].(map[string]any)["signers"] = "0x01"
				})(a)
			}
		}},
		{"the blob's batch", func(a *rpcproxy.Answer) {
			rpcproxy.EditJSON(chain.QueryBlobBatch, func(m map[string]any) { m["batch_root"] = da.Hash{9}.String() })(a)
			rpcproxy.EditJSON(chain.QueryBlob, func(m map[string]any) {
				m["certificate"].(map[string]any)["batch_root"] = da.Hash{9}.String()
			})(a)
		}},
		{"the height", func(a *rpcproxy.Answer) { a.Height-- }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy.Set(tc.rewrite)
			defer proxy.Set(nil)
			out, err := verify(key)
			if exitCode(err) != 2 || !strings.Contains(err.Error(), "chain data failed verification") {
				t.Fatalf("verify: exit %d (%v), want 2 naming the failed verification\n%s", exitCode(err), err, out)
			}
			out, err = sample()
			if err == nil || !strings.Contains(err.Error(), "chain data failed verification") ||
				strings.Contains(out, "AVAILABLE") || strings.Contains(err.Error(), "unknown blob") {
				t.Fatalf("sample: %v\n%s", err, out)
			}
		})
	}
	if out, err := verify(key); err != nil {
		t.Fatalf("verify after the proxy stopped lying: %v\n%s", err, out)
	}
	// zgda pora reads the scores (epoch 0 is running: its table).
	out, err := run(t, "pora", "--chain-rpc", n.RPCAddress(), "--epoch", "0", "--json")
	var scores []chain.Score
	if err != nil || json.Unmarshal([]byte(out), &scores) != nil {
		t.Fatalf("pora --json: %v\n%s", err, out)
	}
}
