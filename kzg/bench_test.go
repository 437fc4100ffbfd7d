package kzg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Benchmarks side by side with go-eth-kzg (the performance anchor), in
// one run so that the ratio, not the machine, is what is read. Bytes are the
// payload a zgda row carries (4096 × 31).

const rowPayload = 4096 * 31

func BenchmarkCommit(b *testing.B) {
	rng := rand.New(rand.NewPCG(21, 22))
	row := randomRow(rng)
	ctx := testContext()
	if err := ctx.Warm(); err != nil {
		b.Fatal(err)
	}
	eth := ethContext(b)
	blob := toBlob(row)
	b.Run("row/zgda", func(b *testing.B) {
		b.SetBytes(rowPayload)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ctx.Commit(row); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("row/go-eth-kzg", func(b *testing.B) {
		b.SetBytes(rowPayload)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := eth.BlobToKZGCommitment(blob, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Many rows at once: how EncodeBlob commits (parallel over rows).
	rows := make([][]fr.Element, 16)
	for i := range rows {
		rows[i] = randomRow(rng)
	}
	b.Run("16rows/zgda", func(b *testing.B) {
		b.SetBytes(16 * rowPayload)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ctx.CommitRows(context.Background(), rows, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCellsAndProofs(b *testing.B) {
	rng := rand.New(rand.NewPCG(23, 24))
	row := randomRow(rng)
	ctx := testContext()
	if _, err := ctx.fk20Tables(); err != nil {
		b.Fatal(err)
	}
	eth := ethContext(b)
	blob := toBlob(row)
	b.Run("row/zgda", func(b *testing.B) {
		b.SetBytes(rowPayload)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := ctx.ComputeCellsAndProofs(row); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("row/go-eth-kzg", func(b *testing.B) {
		b.SetBytes(rowPayload)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := eth.ComputeCellsAndKZGProofs(blob, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParityCommitments(b *testing.B) {
	ctx := testContext()
	rng := rand.New(rand.NewPCG(25, 26))
	comm, err := ctx.Commit(randomRow(rng))
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range []int{9, 64, 256} {
		data := make([]Commitment, d)
		for i := range data {
			data[i] = comm
		}
		k := 1
		for k < d {
			k <<= 1
		}
		b.Run(fmt.Sprintf("D%d", d), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ctx.ParityCommitments(data, k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyBatchRows is a DA node's check of 16 rows of a D = 64
// batch (one random linear combination).
func BenchmarkVerifyBatchRows(b *testing.B) {
	f := newBatchFixture(b, rand.New(rand.NewPCG(29, 30)), 64)
	ctx := testContext()
	rows := make([]BatchRow, 16)
	for i := range rows {
		j := i * 16
		rows[i] = BatchRow{Index: j, Row: f.ext[j]}
	}
	b.SetBytes(int64(len(rows)) * rowPayload)
	b.ReportAllocs()
	for b.Loop() {
		if bad, _, err := ctx.VerifyBatchRows(f.comms, f.k, rows); err != nil || bad != nil {
			b.Fatal(bad, err)
		}
	}
}

func BenchmarkVerifyCells(b *testing.B) {
	rng := rand.New(rand.NewPCG(27, 28))
	ctx := testContext()
	row := randomRow(rng)
	comm, _ := ctx.Commit(row)
	cells, proofs, err := ctx.ComputeCellsAndProofs(row)
	if err != nil {
		b.Fatal(err)
	}
	const n = 16
	cs, idx, cl, ps := make([]Commitment, n), make([]uint64, n), make([][]fr.Element, n), make([]Proof, n)
	for i := 0; i < n; i++ {
		cs[i], idx[i], cl[i], ps[i] = comm, uint64(i*8), cells[i*8], proofs[i*8]
	}
	if err := ctx.VerifyCells(cs, idx, cl, ps); err != nil {
		b.Fatal(err)
	}
	b.Run("16cells", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := ctx.VerifyCells(cs, idx, cl, ps); err != nil {
				b.Fatal(err)
			}
		}
	})
}
