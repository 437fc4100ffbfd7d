package kzg

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// TestVerifyExtendedRows checks rows of two blobs (K = 2 and K = 4, data
// and parity rows) without derived commitments, against the plain column
// extension of kzg_test.go.
func TestVerifyExtendedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	ctx := testContext()
	var blobs [][]Commitment
	var exts [][][]fr.Element
	for _, k := range []int{2, 4} {
		data := make([][]fr.Element, k)
		for i := range data {
			data[i] = randomRow(rng)
		}
		comms, err := ctx.CommitRows(context.Background(), data, nil)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, comms)
		exts = append(exts, extendColumns(data))
	}
	pick := []ExtendedRow{
		{Blob: 0, Index: 1, Row: exts[0][1]}, {Blob: 0, Index: 5, Row: exts[0][5]}, {Blob: 0, Index: 7, Row: exts[0][7]},
		{Blob: 1, Index: 0, Row: exts[1][0]}, {Blob: 1, Index: 9, Row: exts[1][9]}, {Blob: 1, Index: 15, Row: exts[1][15]},
	}
	if bad, err := ctx.VerifyExtendedRows(blobs, pick); err != nil || bad != nil {
		t.Fatalf("honest rows: bad %v, err %v", bad, err)
	}
	// A parity row of blob 1 swapped for another parity row, and a data row
	// of blob 0 with one element changed: both named.
	tampered := append([]ExtendedRow{}, pick...)
	tampered[4].Row = exts[1][10]
	changed := append([]fr.Element{}, exts[0][1]...)
	changed[7].SetUint64(9)
	tampered[0].Row = changed
	bad, err := ctx.VerifyExtendedRows(blobs, tampered)
	if err != nil || len(bad) != 2 || bad[0] != 0 || bad[1] != 4 {
		t.Fatalf("tampered rows: bad %v, err %v", bad, err)
	}
	// The same rows claimed for the other blob do not verify.
	wrongBlob := []ExtendedRow{{Blob: 1, Index: 5, Row: exts[0][5]}}
	if bad, err := ctx.VerifyExtendedRows(blobs, wrongBlob); err != nil || len(bad) != 1 {
		t.Fatalf("row of another blob: bad %v, err %v", bad, err)
	}
	for name, rows := range map[string][]ExtendedRow{
		"index out of range": {{Blob: 0, Index: 8, Row: exts[0][0]}},
		"unknown blob":       {{Blob: 2, Index: 0, Row: exts[0][0]}},
		"short row":          {{Blob: 0, Index: 0, Row: exts[0][0][:10]}},
	} {
		if _, err := ctx.VerifyExtendedRows(blobs, rows); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ctx.VerifyExtendedRows([][]Commitment{blobs[0][:1], make([]Commitment, 3)}, pick[:1]); !errors.Is(err, ErrBadArgument) {
		t.Errorf("K = 3: got %v", err)
	}
}
