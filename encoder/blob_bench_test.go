package encoder_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// BenchmarkEncodeBlob measures the whole encode (pack, extend ×4, commit the
// K data rows, derive the other 3K commitments) by blob size. Target
// (DESIGN.md §10): ≥ 5 MB/s on 2 cores; EigenDA v2's CPU encoder does
// 1.26 MB/s for commitments alone on this kind of machine.
func BenchmarkEncodeBlob(b *testing.B) {
	rng := rand.New(rand.NewPCG(41, 42))
	e, err := encoder.New()
	if err != nil {
		b.Fatal(err)
	}
	c := kzg.Default()
	if err := c.Warm(); err != nil {
		b.Fatal(err)
	}
	for _, s := range []struct {
		name string
		n    int
	}{{"128KiB", 128 << 10}, {"1MiB", 1 << 20}, {"8MiB", 8 << 20}, {"31MiB", encoder.MaxBlobSize}} {
		if testing.Short() && s.n > 1<<20 {
			continue
		}
		blob := blobBytes(rng, s.n)
		b.Run(s.name+"/cpu", func(b *testing.B) {
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := e.EncodeBlob(context.Background(), c, blob, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
