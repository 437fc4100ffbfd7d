package main

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/sampler"
)

// TestSampleAndLight runs `zgda sample` and `zgda light` against a devnet
// whose chain RPC is served on loopback, as a user would.
func TestSampleAndLight(t *testing.T) {
	n, rpc, ctx := startRPCDevnet(t, nil)
	cl := client.New(n.URL(), client.WithPollInterval(20*time.Millisecond))
	blobKey := postCertified(t, ctx, n, 50_000)
	put := struct{ BlobKey da.BlobKey }{blobKey}
	key := put.BlobKey.String()

	// Follow from block 1: the light client finds the certificate and
	// reports the blob available, as a log line and as JSON.
	buf, _, stop := startCommand(t, regexp.MustCompile(`(?s)following chain.*"blob_key":"`+key+`"`),
		"light", "--chain-rpc", rpc, "--trust", n.TrustFile(), "--from-height", "1", "--json", "--log-level", "info")
	if err := stop(); err != nil {
		t.Fatalf("light: %v", err)
	}
	out := buf.String()
	if !strings.Contains(out, `msg="blob available"`) || !strings.Contains(out, "blob="+key) {
		t.Fatalf("light output:\n%s", out)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "{") && strings.Contains(l, key) {
			line = l
		}
	}
	var rep sampler.Report
	if err := json.Unmarshal([]byte(line), &rep); err != nil || !rep.Available || rep.OK != 16 || rep.Key != put.BlobKey {
		t.Fatalf("light JSON %q: %v %+v", line, err, rep)
	}
	// The report is the blob's batch's: its root, its place in it, and
	// samples of the batch's N × 128 grid.
	st, err := cl.Status(ctx, put.BlobKey)
	if err != nil || st.BatchRoot == nil || st.Index == nil {
		t.Fatalf("status of %s: %v %+v", key, err, st)
	}
	if rep.BatchRoot != *st.BatchRoot || rep.Index != int(*st.Index) || rep.Rows != 1 || rep.DispersedRows != 4*rep.DataRows {
		t.Fatalf("light JSON places the blob at %d of batch %s (R = %d, N = %d, D = %d); its status says %d of %s",
			rep.Index, rep.BatchRoot, rep.Rows, rep.DispersedRows, rep.DataRows, *st.Index, *st.BatchRoot)
	}
	for _, smp := range rep.Samples {
		if smp.Row >= uint32(rep.DispersedRows) || smp.Cell >= 128 {
			t.Fatalf("sample (%d, %d) outside the %d × 128 grid", smp.Row, smp.Cell, rep.DispersedRows)
		}
	}

	// Verified from the devnet's trust root: no warning on the output.
	out, err = run(t, "sample", key, "--chain-rpc", rpc, "--trust", n.TrustFile(), "--json", "--samples", "20")
	if err != nil {
		t.Fatalf("sample: %v\n%s", err, out)
	}
	rep = sampler.Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.Available || len(rep.Samples) != 20 || rep.Confidence < 0.9999 {
		t.Fatalf("sample --json: %v\n%s", err, out)
	}
	out, err = run(t, "sample", key, "--chain-rpc", rpc, "--json=false", "--samples", "16")
	if err != nil || !strings.Contains(out, "AVAILABLE") || !strings.Contains(out, "confidence: 0.99945") ||
		!strings.Contains(out, "in batch "+st.BatchRoot.String()) {
		t.Fatalf("sample: %v\n%s", err, out)
	}

	// Every DA node unreachable (their cell protocol gone), the disperser
	// still serving: the blob is NOT available (exit 2), and the
	// disperser's cells are reported apart, in JSON and in text.
	for _, nd := range n.Nodes() {
		nd.Host().RemoveStreamHandler(da.ProtocolCell)
	}
	out, err = run(t, "sample", key, "--chain-rpc", rpc, "--trust", n.TrustFile(), "--json", "--samples", "16", "--disperser", n.URL())
	var ec interface{ ExitCode() int }
	if !errors.As(err, &ec) || ec.ExitCode() != 2 || !strings.Contains(err.Error(), "the disperser still has 16 of those 16 cells") {
		t.Fatalf("sample with only the disperser serving: %v, want exit 2 naming the disperser's cells\n%s", err, out)
	}
	var dj struct {
		Available  bool    `json:"available"`
		OK         int     `json:"ok"`
		Confidence float64 `json:"confidence"`
		Disperser  *struct {
			Name   string `json:"name"`
			Served int    `json:"served"`
		} `json:"disperser_cells"`
	}
	if err := json.Unmarshal([]byte(out), &dj); err != nil || dj.Available || dj.OK != 0 || dj.Confidence != 0 ||
		dj.Disperser == nil || dj.Disperser.Served != 16 || dj.Disperser.Name != "disperser "+n.URL() {
		t.Fatalf("sample --json with only the disperser serving: %v\n%s", err, out)
	}
	out, err = run(t, "sample", key, "--chain-rpc", rpc, "--json=false", "--samples", "16", "--disperser", n.URL())
	if !errors.As(err, &ec) || ec.ExitCode() != 2 || !strings.Contains(out, "UNAVAILABLE") || strings.Contains(out, "confidence:") ||
		!strings.Contains(out, "disperser "+n.URL()+": has 16 of the 16 cells the DA nodes did not serve") {
		t.Fatalf("sample with only the disperser serving: %v\n%s", err, out)
	}

	// Bad input: each error says what is wrong.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sample", "0x" + strings.Repeat("ab", 32), "--chain-rpc", rpc}, "no certified batch holding blob 0xabab"},
		{[]string{"sample", "0x1234", "--chain-rpc", rpc}, "64 hex digits"},
		{[]string{"sample", key, "--chain-rpc", "http://127.0.0.1:1"}, "is the chain running?"},
		{[]string{"sample", key, "--chain-rpc", rpc, "--samples", "0"}, "samples: 0"},
		{[]string{"sample", key, "--chain-rpc", rpc, "--samples", "16", "--confidence", "0.9"}, "not both"},
		{[]string{"light", "--chain-rpc", rpc, "--from-height", "-2"}, "--from-height -2"},
		{[]string{"light", "--chain-rpc", rpc, "--from-height", "0", "--metrics", "nonsense"}, "--metrics"},
	} {
		out, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%v: %v, want an error saying %q\n%s", tc.args, err, tc.want, out)
		}
	}
	// A check that ran and found the blob unavailable exits 2.
	if !errors.As(error(&errUnavailable{rep: &sampler.Report{}}), &ec) || ec.ExitCode() != 2 {
		t.Fatal("unavailable must exit 2")
	}
}
