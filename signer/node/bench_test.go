package node_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/zgda/zgda/encoder"
)

// BenchmarkDisperse measures end-to-end dispersal to 8 DA nodes on loopback
// in this process: routing, libp2p transfer, each node's batched
// verification and fsync'd storage, signature checks and aggregation (no
// chain submission). MB/s is blob bytes; wire-MB/s counts the rows sent
// (each row goes to every holder of one of its slots).
func BenchmarkDisperse(b *testing.B) {
	c := newCluster(b, 8, nil)
	for _, bc := range []struct {
		name  string
		sizes []int
	}{
		{"1x1MiB", []int{1 << 20}},
		{"4x1MiB", []int{1 << 20, 1 << 20, 1 << 20, 1 << 20}},
		{"8x126KiB", []int{encoder.BytesPerRow, encoder.BytesPerRow, encoder.BytesPerRow, encoder.BytesPerRow,
			encoder.BytesPerRow, encoder.BytesPerRow, encoder.BytesPerRow, encoder.BytesPerRow}},
	} {
		blobs := encodeBlobs(b, 99, bc.sizes...)
		total := 0
		for _, s := range bc.sizes {
			total += s
		}
		b.Run(fmt.Sprintf("%s/8nodes", bc.name), func(b *testing.B) {
			ctx := ctxT(b, 10*time.Minute)
			b.SetBytes(int64(total))
			b.ReportAllocs()
			var wire int64
			for b.Loop() {
				cert, rep, err := c.disp.Disperse(ctx, blobs)
				if err != nil || cert.Signers.Count() != 8 {
					b.Fatal(err)
				}
				wire += rep.BytesSent
			}
			b.ReportMetric(float64(wire)/b.Elapsed().Seconds()/1e6, "wire-MB/s")
		})
	}
}
