package cuda

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// blobShapeRows packs a blob of D rows of one repeated byte (4096 equal
// scalars a row, the last row part-filled; docs/spec.md §3.1) and makes
// every other row between the first and the last all zero.
func blobShapeRows(t *testing.T, d int) [][]fr.Element {
	t.Helper()
	rows, err := encoder.Pack(bytes.Repeat([]byte{byte(0xa0 + d)}, d*encoder.BytesPerRow-777))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != d {
		t.Fatalf("%d rows, want %d", len(rows), d)
	}
	for j := 1; j < d-1; j += 2 {
		rows[j] = make([]fr.Element, encoder.ElementsPerRow)
	}
	return rows
}

// checkBlobShapes commits blobShapeRows(D) with com and with kzg.Default,
// byte for byte, for each D.
func checkBlobShapes(t *testing.T, com encoder.Committer, ds []int) {
	t.Helper()
	for _, d := range ds {
		t.Run(fmt.Sprintf("D=%d", d), func(t *testing.T) {
			rows := blobShapeRows(t, d)
			ctx := context.Background()
			want, err := kzg.Default().CommitRows(ctx, rows, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := com.CommitRows(ctx, rows, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d of %d: commitment %s, kzg %s", i, d, got[i], want[i])
				}
			}
		})
	}
}

// TestEmulatedCommitterBlobShapes runs msm.cu (emulated, 4-row batches)
// over blobs of D rows, D not a power of two as v2 allows, of one repeated
// byte with all-zero rows between: the sort, the split of long buckets and
// the batch inversion (a batch with rows at infinity) against kzg.
// ZGDA_LONG=1 adds D = 33 and 256.
func TestEmulatedCommitterBlobShapes(t *testing.T) {
	com := emuCommitter(t)
	ds := []int{1, 3, 5, 7}
	if os.Getenv("ZGDA_LONG") != "" {
		ds = append(ds, 33, 256)
	}
	checkBlobShapes(t, com, ds)
}

// TestDeviceCommitterBlobShapes is TestEmulatedCommitterBlobShapes on a
// real device, up to D = 256.
func TestDeviceCommitterBlobShapes(t *testing.T) {
	checkBlobShapes(t, deviceCommitter(t), []int{1, 3, 5, 7, 33, 100, 256})
}

// TestEmulatedCommitterFewBases: the library over bases counts that are not
// powers of two (1 included), so that its sort tiles, chunks and segments end
// part-filled, with equal, zero and random rows in multi-row batches,
// against gnark-crypto's MultiExp.
func TestEmulatedCommitterFewBases(t *testing.T) {
	lib := emuLib(t)
	r := rand.New(rand.NewPCG(18, 19))
	for _, n := range []int{1, 5, 100} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			bases := smallBases(n)
			c, err := newCommitterOver(lib, 0, nil, bases)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			rows := randRows(r, 9, n)
			for i := range n {
				rows[0][i] = rows[0][0]
				rows[4][i] = fr.Element{}
				rows[7][i] = rows[7][0]
			}
			got, err := c.CommitRows(context.Background(), rows, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				var want bls.G1Affine
				if _, err := want.MultiExp(bases, rows[i], ecc.MultiExpConfig{}); err != nil {
					t.Fatal(err)
				}
				if got[i] != kzg.Commitment(want.Bytes()) {
					t.Fatalf("row %d: %s, gnark MultiExp %x", i, got[i], want.Bytes())
				}
			}
		})
	}
}
