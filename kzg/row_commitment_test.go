package kzg

import (
	"math/rand/v2"
	"testing"
)

// RowCommitment gives, for every extended row, the commitment of that row:
// the data commitments, the identity for padding, and for parity rows the
// same points ParityCommitments derives and a direct commit of the row.
func TestRowCommitment(t *testing.T) {
	ctx := testContext()
	f := newBatchFixture(t, rand.New(rand.NewPCG(91, 92)), 3) // K = 4
	parity, err := ctx.ParityCommitments(f.comms, f.k)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 4*f.k; j++ {
		got, err := ctx.RowCommitment(f.comms, f.k, j)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ctx.Commit(f.ext[j])
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("extended row %d: RowCommitment differs from the row's commitment", j)
		}
		if j >= f.k && j < f.k+len(parity) && got != parity[j-f.k] {
			t.Fatalf("extended row %d: differs from ParityCommitments", j)
		}
	}
	if _, err := ctx.RowCommitment(f.comms, f.k, 4*f.k); err == nil {
		t.Fatal("a row past 4K was taken")
	}
}
