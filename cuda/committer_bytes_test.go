package cuda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/kzg"
)

// The engine's intake commits from bytes with this committer.
var _ engine.BlobCommitter = (*Committer)(nil)

// blobCase is a named blob for the CommitBlobs tests.
type blobCase struct {
	name string
	blob []byte
}

// blobCases returns blobs of exactly d rows (docs/spec.md §3.1): random
// bytes with a part-filled last row, one repeated byte (4096 equal scalars
// a row), all-zero rows between random ones (d = 1: all zero), all 0xff
// (the largest 31-byte chunks) and, with full, random bytes filling the
// last row.
func blobCases(r *rand.Rand, d int, full bool) []blobCase {
	const row = encoder.BytesPerRow
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	zeros := random(d*row - 4000)
	for j := 1; j < d; j += 2 {
		clear(zeros[j*row : min((j+1)*row, len(zeros))])
	}
	if d == 1 {
		clear(zeros)
	}
	cases := []blobCase{
		{"random", random(d*row - 777)},
		{"repeated byte", bytes.Repeat([]byte{byte(0xa0 + d)}, d*row-777)},
		{"zero rows", zeros},
		{"all 0xff", bytes.Repeat([]byte{0xff}, (d-1)*row+31*1000+5)},
	}
	if full {
		cases = append(cases, blobCase{"full last row", random(d * row)})
	}
	return cases
}

// checkCommitBlobs commits the blobs in one CommitBlobs call (posts that
// arrive together) and each blob's encoder.Pack rows with kzg.Default,
// and compares them byte for byte.
func checkCommitBlobs(t *testing.T, com *Committer, cases []blobCase) {
	t.Helper()
	ctx := context.Background()
	blobs := make([][]byte, len(cases))
	orig := make([][]byte, len(cases))
	total := 0
	for i, c := range cases {
		blobs[i] = c.blob
		orig[i] = bytes.Clone(c.blob)
		p, err := encoder.ParamsFor(len(c.blob))
		if err != nil {
			t.Fatal(err)
		}
		total += p.Rows
	}
	var last int
	got, err := com.CommitBlobs(ctx, blobs, func(done int) {
		if done <= last || done > total {
			t.Errorf("progress %d after %d of %d", done, last, total)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != total {
		t.Errorf("progress ended at %d of %d rows", last, total)
	}
	if len(got) != len(cases) {
		t.Fatalf("%d commitment lists for %d blobs", len(got), len(cases))
	}
	for i, c := range cases {
		rows, err := encoder.Pack(c.blob)
		if err != nil {
			t.Fatal(err)
		}
		want, err := kzg.Default().CommitRows(ctx, rows, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got[i]) != len(want) {
			t.Fatalf("%s: %d commitments for %d rows", c.name, len(got[i]), len(want))
		}
		for r := range want {
			if got[i][r] != want[r] {
				t.Fatalf("%s (%d bytes): row %d of %d: commitment %s, kzg %s", c.name, len(c.blob), r, len(want), got[i][r], want[r])
			}
		}
		if !bytes.Equal(c.blob, orig[i]) {
			t.Fatalf("%s: CommitBlobs changed the blob", c.name)
		}
	}
}

// TestEmulatedCommitBlobs runs msm.cu's byte path — the pinned byte
// staging, the part-filled row's zero padding, the pack kernel and the MSM,
// built with g++ against the emulated runtime (4-row batches, so a call's
// batches cross blob boundaries) — against kzg over encoder.Pack, for
// blobs of D = 1, 2, 3, 5 rows. ZGDA_LONG=1 adds D = 33.
func TestEmulatedCommitBlobs(t *testing.T) {
	com := emuCommitter(t)
	r := rand.New(rand.NewPCG(20, 21))
	ds := []int{1, 2, 3, 5}
	if os.Getenv("ZGDA_LONG") != "" {
		ds = append(ds, 33)
	}
	for _, d := range ds {
		t.Run(fmt.Sprintf("D=%d", d), func(t *testing.T) { checkCommitBlobs(t, com, blobCases(r, d, d == 2)) })
	}
	t.Run("mixed sizes", func(t *testing.T) {
		checkCommitBlobs(t, com, []blobCase{
			{"1 byte", []byte{0x42}},
			{"2 rows", blobCases(r, 2, false)[0].blob},
			{"31 bytes", bytes.Repeat([]byte{0xff}, 31)},
		})
	})
	t.Run("no blobs", func(t *testing.T) {
		got, err := com.CommitBlobs(context.Background(), nil, nil)
		if err != nil || len(got) != 0 {
			t.Fatalf("%v, %d commitment lists", err, len(got))
		}
	})
}

func TestEmulatedCommitBlobsErrors(t *testing.T) {
	lib := emuLib(t)
	com := emuCommitter(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(22, 23))
	one := [][]byte{{1, 2, 3}}

	t.Run("empty blob", func(t *testing.T) {
		if _, err := com.CommitBlobs(ctx, [][]byte{{1}, {}}, nil); !errors.Is(err, encoder.ErrEmptyBlob) {
			t.Fatalf("%v, want encoder.ErrEmptyBlob", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		if _, err := com.CommitBlobs(ctx, [][]byte{make([]byte, encoder.MaxBlobSize+1)}, nil); !errors.Is(err, encoder.ErrBlobTooLarge) {
			t.Fatalf("%v, want encoder.ErrBlobTooLarge", err)
		}
	})
	t.Run("copy fails, then recovers", func(t *testing.T) {
		t.Setenv("ZGDA_EMU_FAIL_COPY", "1")
		_, err := com.CommitBlobs(ctx, one, nil)
		if !errors.Is(err, ErrDevice) || !strings.Contains(err.Error(), "cudaMemcpyAsync") {
			t.Fatalf("CommitBlobs with failing copies: %v", err)
		}
		t.Setenv("ZGDA_EMU_FAIL_COPY", "0")
		checkCommitBlobs(t, com, blobCases(r, 1, false)[:1])
	})
	t.Run("canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := com.CommitBlobs(cctx, one, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("%v, want context.Canceled", err)
		}
	})
	t.Run("small bases", func(t *testing.T) {
		c, err := newCommitterOver(lib, 0, nil, smallBases(8))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.CommitBlobs(ctx, one, nil); !errors.Is(err, encoder.ErrShape) {
			t.Fatalf("%v, want encoder.ErrShape", err)
		}
		if _, err := c.commitByteRows(ctx, [][]byte{make([]byte, 31*8+1)}, nil); !errors.Is(err, encoder.ErrShape) {
			t.Fatalf("a 249-byte row over 8 bases: %v, want encoder.ErrShape", err)
		}
		c.Close()
		if _, err := c.commitByteRows(ctx, [][]byte{{1}}, nil); !errors.Is(err, ErrClosed) {
			t.Fatalf("%v, want ErrClosed", err)
		}
	})
}

// packSmall packs a row of at most 31·n bytes into n elements as
// encoder.PackInto packs a 4096-element row (big-endian 31-byte chunks, zero
// padding).
func packSmall(t *testing.T, row []byte, n int) []fr.Element {
	t.Helper()
	out := make([]fr.Element, n)
	for i := range out {
		var buf [fr.Bytes]byte
		if lo := 31 * i; lo < len(row) {
			copy(buf[1:], row[lo:min(lo+31, len(row))])
		}
		e, err := fr.BigEndian.Element(&buf)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// TestEmulatedCommitByteRowsFewBases: the byte entry over contexts of n =
// 1, 5, 100 bases, rows of every length class (empty, one byte, one
// element, part-filled, full, all 0xff, repeated byte) in multi-row
// batches, against gnark-crypto's MultiExp of the packed rows.
func TestEmulatedCommitByteRowsFewBases(t *testing.T) {
	lib := emuLib(t)
	r := rand.New(rand.NewPCG(24, 25))
	for _, n := range []int{1, 5, 100} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			bases := smallBases(n)
			c, err := newCommitterOver(lib, 0, nil, bases)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			random := func(k int) []byte {
				b := make([]byte, k)
				for i := range b {
					b[i] = byte(r.Uint32())
				}
				return b
			}
			per := 31 * n
			rows := [][]byte{nil, {0x7f}, random(31), random(per/2 + 1), random(per), bytes.Repeat([]byte{0xff}, per),
				bytes.Repeat([]byte{0x3c}, per-3), make([]byte, per), random(per - 1)}
			got, err := c.commitByteRows(context.Background(), rows, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range rows {
				var want bls.G1Affine
				if _, err := want.MultiExp(bases, packSmall(t, row, n), ecc.MultiExpConfig{}); err != nil {
					t.Fatal(err)
				}
				if got[i] != kzg.Commitment(want.Bytes()) {
					t.Fatalf("row %d (%d bytes): %s, gnark MultiExp %x", i, len(row), got[i], want.Bytes())
				}
			}
		})
	}
}

// TestDeviceCommitBlobs is TestEmulatedCommitBlobs on a real device, up to
// D = 256 (the largest blob) and from concurrent posts; it skips only when
// there is no library or no device.
func TestDeviceCommitBlobs(t *testing.T) {
	com := deviceCommitter(t)
	r := rand.New(rand.NewPCG(26, 27))
	for _, d := range []int{1, 2, 3, 5, 33, 256} {
		t.Run(fmt.Sprintf("D=%d", d), func(t *testing.T) { checkCommitBlobs(t, com, blobCases(r, d, true)) })
	}
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			cases := blobCases(rand.New(rand.NewPCG(uint64(g), 28)), 3+g, false)
			wg.Add(1)
			go func() {
				defer wg.Done()
				checkCommitBlobs(t, com, cases)
			}()
		}
		wg.Wait()
	})
}

// BenchmarkCommitBlobs: a call's blobs of 31 MiB (256 rows; payload
// bytes/s) committed from bytes on the device, and packed (encoder.Pack)
// then committed on the CPU (kzg.Default, all cores).
func BenchmarkCommitBlobs(b *testing.B) {
	ctx := context.Background()
	if err := kzg.Default().Warm(); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(29, 30))
	for _, nb := range []int{1, 4} {
		blobs := make([][]byte, nb)
		for i := range blobs {
			blobs[i] = make([]byte, encoder.MaxBlobSize)
			for j := range blobs[i] {
				blobs[i][j] = byte(r.Uint32())
			}
		}
		for _, name := range []string{"cuda", "cpu"} {
			b.Run(fmt.Sprintf("%dx256/%s", nb, name), func(b *testing.B) {
				var com *Committer
				if name == "cuda" {
					com = deviceCommitter(b)
				}
				b.SetBytes(int64(nb * encoder.MaxBlobSize))
				b.ReportAllocs()
				for b.Loop() {
					if com != nil {
						if _, err := com.CommitBlobs(ctx, blobs, nil); err != nil {
							b.Fatal(err)
						}
						continue
					}
					for _, blob := range blobs {
						rows, err := encoder.Pack(blob)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := kzg.Default().CommitRows(ctx, rows, nil); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
