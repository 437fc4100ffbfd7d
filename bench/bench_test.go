package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"128KiB": 128 << 10, "31MiB": 31 << 20, "1000": 1000, "7B": 7} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%s: %d, %v", in, got, err)
		}
		if HumanSize(want) != in && in != "1000" && in != "7B" {
			t.Errorf("HumanSize(%d) = %s", want, HumanSize(want))
		}
	}
	for _, bad := range []string{"", "MiB", "-1KiB", "1.5MiB", "12XB", "0"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRunSuites(t *testing.T) {
	opts := Options{MinTime: time.Millisecond, MinRuns: 1, Sizes: []int{1 << 10, 200 << 10}, BatchBlobs: 3}
	rep, err := Run(context.Background(), "all", opts)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rep.Results {
		seen[r.Suite+" "+r.Op+" "+r.Impl] = true
		seen[r.Suite+" "+r.Op+" "+r.Size] = true
		if r.Runs < 1 || r.Seconds <= 0 || r.MBps <= 0 {
			t.Errorf("%+v: not measured", r)
		}
		if r.AnchorFor != "" && r.VsAnchor <= 0 {
			t.Errorf("%+v: no ratio", r)
		}
	}
	for _, want := range []string{"kzg commit/row zgda/cpu", "kzg commit/row go-eth-kzg", "kzg cells+proofs/row go-eth-kzg",
		"encode extend+commit zgda/cpu", "encode extend+commit go-eth-kzg commit", "encode extend+derive zgda/cpu", "encode extend+commit 3x124KiB",
		"encode extend+derive 200KiB", "rs encode/10+4 klauspost/cpu"} {
		if !seen[want] {
			t.Errorf("missing result %q", want)
		}
	}
	var tbl, js, svg bytes.Buffer
	if err := WriteTable(&tbl, rep); err != nil || !strings.Contains(tbl.String(), "go-eth-kzg") {
		t.Fatalf("table: %v\n%s", err, tbl.String())
	}
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != len(rep.Results) {
		t.Fatalf("json round trip: %v", err)
	}
	if err := WriteSVG(&svg, rep); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&svg)
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("svg is not well-formed: %v", err)
			}
			break
		}
	}
	if _, err := Run(context.Background(), "nope", opts); err == nil {
		t.Fatal("unknown suite accepted")
	}
}
