package devnet_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/devnet"
)

// TestBenchE2E runs the end-to-end benchmark small (ZGDA_LONG=1: 1 MiB
// blobs, ZGDA_BENCH_BLOBS of them, default 32).
func TestBenchE2E(t *testing.T) {
	o := devnet.BenchOptions{Posters: 4, Size: 64 << 10, Blobs: 8, EncodeBlobs: 2}
	if os.Getenv("ZGDA_LONG") != "" {
		o = devnet.BenchOptions{Posters: 8, Size: 1 << 20, Blobs: 32}
		if n, err := strconv.Atoi(os.Getenv("ZGDA_BENCH_BLOBS")); err == nil {
			o.Blobs = n
		}
		if n, err := strconv.Atoi(os.Getenv("ZGDA_BENCH_SIZE")); err == nil {
			o.Size = n
		}
		if n, err := strconv.Atoi(os.Getenv("ZGDA_BENCH_POSTERS")); err == nil {
			o.Posters = n
		}
	}
	n := startDevnet(t, devnet.TestConfig(t.TempDir()))
	r, err := devnet.BenchE2E(ctxT(t, 10*time.Minute), n.URL(), o)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r.WriteTable(&b)
	t.Log("\n" + b.String())
	if r.CertifiedMBps <= 0 || r.P99 < r.P50 {
		t.Fatalf("report %+v", r)
	}
	// Every dispersed row goes out at least once: N = 4D rows of 131,072
	// bytes for at most D·126,976 posted bytes.
	if r.Batches < 1 || r.MeanBatchRows < 1 || r.RowBytesPerByte < 4 || r.HeaderBytesPerByte <= 0 {
		t.Fatalf("batches %d of %.1f rows, %.2f row bytes and %.4f header bytes per byte posted",
			r.Batches, r.MeanBatchRows, r.RowBytesPerByte, r.HeaderBytesPerByte)
	}
}
