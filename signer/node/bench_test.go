package node_test

import (
	"bytes"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/zgda/zgda/da"
)

// BenchmarkDisperse measures end-to-end dispersal of one batch to 8 DA
// nodes on loopback in this process: routing, libp2p transfer, each node's
// batched verification and fsync'd storage, signature checks and
// aggregation (no chain submission). MB/s is blob bytes; wire-MB/s counts
// the rows sent, and rows/posted-byte the row bytes sent per blob byte.
func BenchmarkDisperse(b *testing.B) {
	c := newCluster(b, 8, nil)
	for _, bc := range []struct {
		name  string
		sizes []int
	}{
		{"1x1MiB", []int{1 << 20}},
		{"4x1MiB", []int{1 << 20, 1 << 20, 1 << 20, 1 << 20}},
		{"8x124KiB", []int{da.BytesPerRow, da.BytesPerRow, da.BytesPerRow, da.BytesPerRow,
			da.BytesPerRow, da.BytesPerRow, da.BytesPerRow, da.BytesPerRow}},
	} {
		batch := encodeBatch(b, 99, bc.sizes...)
		total := 0
		for _, s := range bc.sizes {
			total += s
		}
		b.Run(fmt.Sprintf("%s/8nodes", bc.name), func(b *testing.B) {
			ctx := ctxT(b, 10*time.Minute)
			b.SetBytes(int64(total))
			b.ReportAllocs()
			var wire, rows int64
			for b.Loop() {
				cert, rep, err := c.disp.Disperse(ctx, batch)
				if err != nil || cert.Signers.Count() != 8 {
					b.Fatal(err)
				}
				wire += rep.BytesSent
				rows += rep.RowBytesSent
			}
			b.ReportMetric(float64(wire)/b.Elapsed().Seconds()/1e6, "wire-MB/s")
			b.ReportMetric(float64(rows)/float64(b.N)/float64(total), "rows/posted-byte")
		})
	}
}

// BenchmarkDisperseBadRow is one node's work for a dispersal of all N = 256
// rows of a D = 64 batch, intact ("good") or with one parity row changed
// ("1bad"), sent over loopback: cpu-ms/op is the process's CPU time (the
// node's verification and storage, and the sending), commits/op the
// node's verification checks, each one 4096-point commitment: 1 when all
// rows verify, 1 + ⌈log2 256⌉ = 9 for one bad row (docs/spec.md §4.3).
func BenchmarkDisperseBadRow(b *testing.B) {
	c := newCluster(b, 1, nil)
	nd := c.nodes[0]
	// One random row keeps the fixture quick; every parity row mixes it in.
	blob := make([]byte, 64*da.BytesPerRow)
	for i := range da.BytesPerRow {
		blob[i] = byte(i*7 + 1)
	}
	req := c.requestFor(encodeBlobs(b, blob), nd.Index())
	good := slices.Clone(req.Slices)
	bad := slices.Clone(req.Slices)
	data := bytes.Clone(bad[200].Data)
	data[3000*32+31] ^= 1
	bad[200].Data = data
	for _, bc := range []struct {
		name   string
		slices []da.Slice
		ok     bool
	}{{"256rows/good", good, true}, {"256rows/1bad", bad, false}} {
		b.Run(bc.name, func(b *testing.B) {
			req.Slices = bc.slices
			b.SetBytes(int64(len(req.Slices)) * da.RowSize)
			b.ReportAllocs()
			cpu0, checks := cpuTime(b), 0
			for b.Loop() {
				r, ok := c.send(nd, da.ProtocolDisperse, req).(*da.DisperseResponse)
				if !ok || r.OK != bc.ok {
					b.Fatalf("answer %#v", r)
				}
				checks += nd.LastVerifyChecks()
			}
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
			b.ReportMetric(float64(checks)/float64(b.N), "commits/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
