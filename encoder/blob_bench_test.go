package encoder_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// BenchmarkEncodeBatch measures EncodeBatch (extend ×4 of the batch matrix,
// derive the 3D parity commitments) and, as "+commit", the whole encode of
// the blobs' bytes (pack and commit every data row too), for one blob of
// 1, 8 and 31 MiB and a batch of 64 one-row blobs. Bytes are the blobs'
// payload. Target: ≥ 5 MB/s on 2 cores for 31 MiB with +commit.
func BenchmarkEncodeBatch(b *testing.B) {
	rng := rand.New(rand.NewPCG(41, 42))
	e, err := encoder.New()
	if err != nil {
		b.Fatal(err)
	}
	c := kzg.Default()
	if err := c.Warm(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range []struct {
		name  string
		sizes []int
	}{
		{"1MiB", []int{1 << 20}},
		{"8MiB", []int{8 << 20}},
		{"31MiB", []int{encoder.MaxBlobSize}},
		{"64x126976B", repeat(encoder.BytesPerRow, 64)},
	} {
		if testing.Short() && s.name != "1MiB" {
			continue
		}
		var raw [][]byte
		var blobs []*encoder.Blob
		total := 0
		for _, n := range s.sizes {
			raw = append(raw, blobBytes(rng, n))
			bl, err := e.CommitBlob(ctx, c, raw[len(raw)-1], nil)
			if err != nil {
				b.Fatal(err)
			}
			blobs = append(blobs, bl)
			total += n
		}
		b.Run(s.name+"/cpu", func(b *testing.B) {
			b.SetBytes(int64(total))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.EncodeBatch(ctx, c, blobs, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"+commit/cpu", func(b *testing.B) {
			b.SetBytes(int64(total))
			b.ReportAllocs()
			for b.Loop() {
				var bs []*encoder.Blob
				for _, r := range raw {
					bl, err := e.CommitBlob(ctx, c, r, nil)
					if err != nil {
						b.Fatal(err)
					}
					bs = append(bs, bl)
				}
				if _, err := e.EncodeBatch(ctx, c, bs, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func repeat(n, times int) []int {
	out := make([]int, times)
	for i := range out {
		out[i] = n
	}
	return out
}
