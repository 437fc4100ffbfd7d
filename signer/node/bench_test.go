package node_test

import (
	"fmt"
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
