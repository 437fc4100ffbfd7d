package kzg

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	goethkzg "github.com/crate-crypto/go-eth-kzg"
)

// Benchmarks side by side with go-eth-kzg (the performance anchor), in
// one run so that the ratio, not the machine, is what is read. Bytes are the
// payload a zgda row carries (4096 × 31).

const rowPayload = 4096 * 31

// randomDataRow is a row as zgda packs payload: 31 random bytes per field
// element, so every scalar is below 2^248.
func randomDataRow(rng *rand.Rand) []fr.Element {
	row := make([]fr.Element, ScalarsPerRow)
	var b [32]byte
	for i := range row {
		for j := 1; j < 32; j++ {
			b[j] = byte(rng.Uint32())
		}
		row[i].SetBytes(b[:])
	}
	return row
}

// BenchmarkCommit commits calls of 1, 3, 8 and 32 rows (posts arrive one
// by one; EncodeBlob commits many), cycling through distinct data rows so no
// call sees the rows of the previous one.
func BenchmarkCommit(b *testing.B) {
	rng := rand.New(rand.NewPCG(21, 22))
	pool := make([][]fr.Element, 64)
	for i := range pool {
		pool[i] = randomDataRow(rng)
	}
	ctx := testContext()
	if err := ctx.Warm(); err != nil {
		b.Fatal(err)
	}
	eth := ethContext(b)
	blobs := make([]*goethkzg.Blob, 8)
	for i := range blobs {
		blobs[i] = toBlob(pool[i])
	}
	// The rows are short scalars, which take a path of their own in the
	// MSM (fewer windows): check them once against go-eth-kzg.
	got, err := ctx.CommitRows(context.Background(), pool[:len(blobs)], nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range blobs {
		if want, err := eth.BlobToKZGCommitment(blobs[i], 0); err != nil || got[i] != Commitment(want) {
			b.Fatalf("row %d: zgda %s, go-eth-kzg %x (%v)", i, got[i], want, err)
		}
	}
	for _, n := range []int{1, 3, 8, 32} {
		name := fmt.Sprintf("%drows", n)
		if n == 1 {
			name = "1row"
		}
		b.Run(name+"/zgda", func(b *testing.B) {
			b.SetBytes(int64(n) * rowPayload)
			b.ReportAllocs()
			next := 0
			for b.Loop() {
				rows := make([][]fr.Element, n)
				for j := range rows {
					rows[j] = pool[next%len(pool)]
					next++
				}
				if _, err := ctx.CommitRows(context.Background(), rows, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		if n == 1 {
			b.Run("1row/go-eth-kzg", func(b *testing.B) {
				b.SetBytes(rowPayload)
				b.ReportAllocs()
				next := 0
				for b.Loop() {
					if _, err := eth.BlobToKZGCommitment(blobs[next%len(blobs)], 0); err != nil {
						b.Fatal(err)
					}
					next++
				}
			})
		}
	}
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

// BenchmarkCellProof is one cell and its proof without FK20 (what a node
// answers a first sample of a row with); compare CellsAndProofs/row/zgda.
func BenchmarkCellProof(b *testing.B) {
	rng := rand.New(rand.NewPCG(31, 32))
	row := randomRow(rng)
	ctx := testContext()
	if err := ctx.WarmCellProof(); err != nil {
		b.Fatal(err)
	}
	b.Run("1cell/zgda", func(b *testing.B) {
		b.SetBytes(BytesPerCell)
		b.ReportAllocs()
		k := uint64(0)
		for b.Loop() {
			if _, _, err := ctx.ComputeCellAndProof(row, k%CellsPerRow); err != nil {
				b.Fatal(err)
			}
			k += 37
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

// BenchmarkVerifyBatchRows is a DA node's check of rows of a D = 64 batch:
// 16 rows, and all N = 256 dispersed rows intact ("good") or with one
// parity row changed ("1bad"), the case a dishonest disperser forces.
// commits/op counts the checks (each one 4096-point commitment and one
// D-point MSM): 1 when all verify, 1 + ⌈log2 256⌉ = 9 for one bad row, so
// the bad case costs at most the good one plus ⌈log2 256⌉ + 1 commitments
// (docs/spec.md §4.3).
func BenchmarkVerifyBatchRows(b *testing.B) {
	f := newBatchFixture(b, rand.New(rand.NewPCG(29, 30)), 64)
	ctx := testContext()
	all := make([]BatchRow, 4*f.d)
	for j := range all {
		all[j] = BatchRow{Index: j, Row: f.ext[j]}
	}
	sixteen := make([]BatchRow, 16)
	for i := range sixteen {
		sixteen[i] = all[i*16]
	}
	broken := slices.Clone(all)
	row := slices.Clone(broken[200].Row)
	row[3000].SetUint64(7)
	broken[200].Row = row
	for _, bc := range []struct {
		name string
		rows []BatchRow
		bad  []int
	}{
		{"16rows/good", sixteen, nil},
		{"256rows/good", all, nil},
		{"256rows/1bad", broken, []int{200}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.rows)) * rowPayload)
			b.ReportAllocs()
			checks := 0
			for b.Loop() {
				bad, n, err := ctx.VerifyBatchRows(f.comms, f.k, bc.rows)
				if err != nil || !slices.Equal(bad, bc.bad) {
					b.Fatal(bad, err)
				}
				checks += n
			}
			b.ReportMetric(float64(checks)/float64(b.N), "commits/op")
		})
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

// BenchmarkBatchCellsAndProofs is the cells and proofs of all N = 4D
// dispersed rows of a batch: ComputeBatchCellsAndProofs ("batch": FK20 on
// the D data rows, parity proofs derived in G1) beside 4D calls of
// ComputeCellsAndProofs ("perrow", the anchor), in one run so that the
// ratio is what is read. Bytes are the D data rows' payload; cpu-s/op is the
// CPU time of all workers per op.
func BenchmarkBatchCellsAndProofs(b *testing.B) {
	rng := rand.New(rand.NewPCG(33, 34))
	ctx := testContext()
	if _, err := ctx.fk20Tables(); err != nil {
		b.Fatal(err)
	}
	for _, d := range []int{8, 32} {
		data := make([][]fr.Element, d)
		for i := range data {
			data[i] = randomDataRow(rng)
		}
		rows, k := dispersedRows(data)
		b.Run(fmt.Sprintf("D=%d/batch", d), func(b *testing.B) {
			b.SetBytes(int64(d) * rowPayload)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if _, _, err := ctx.ComputeBatchCellsAndProofs(context.Background(), rows, k); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
		b.Run(fmt.Sprintf("D=%d/perrow", d), func(b *testing.B) {
			b.SetBytes(int64(d) * rowPayload)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				for _, row := range rows {
					if _, _, err := ctx.ComputeCellsAndProofs(row); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// reportCPU reports the process CPU time per op since start ("cpu-s/op":
// all workers' time, the cost that the ratio of wall times hides when one
// side leaves cores idle or the machine is shared).
func reportCPU(b *testing.B, start time.Duration) {
	if used := processCPU() - start; start > 0 && b.N > 0 {
		b.ReportMetric(used.Seconds()/float64(b.N), "cpu-s/op")
	}
}

// BenchmarkParityProofDerivation is the G1 part of the batch prover alone:
// the 3D parity proofs of all 128 cell indices from the D data rows'
// (random points here), in the batch's cell groups on the Context's
// workers; "ns/cell" is per cell index. With BenchmarkBatchCellsAndProofs
// it projects the ratio to D = 256.
func BenchmarkParityProofDerivation(b *testing.B) {
	rng := rand.New(rand.NewPCG(35, 36))
	var base bls.G1Jac
	_, _, g, _ := bls.Generators()
	base.FromAffine(&g)
	ctx := testContext()
	for _, d := range []int{8, 32, 256} {
		k := 1
		for k < d {
			k <<= 1
		}
		jac := make([]bls.G1Jac, d*CellsPerRow)
		for i := range jac {
			var s fr.Element
			s.SetUint64(rng.Uint64())
			jac[i].ScalarMultiplication(&base, s.BigInt(new(big.Int)))
		}
		pts := bls.BatchJacobianToAffineG1(jac) // pts[i·128 + c]: row i, cell c
		e := newG1Extender(k, paritySpan(d, k))
		b.Run(fmt.Sprintf("D=%d/128cells", d), func(b *testing.B) {
			b.ReportAllocs()
			groups := cellGroups(ctx.workers)
			per := (CellsPerRow + groups - 1) / groups
			for b.Loop() {
				if err := ctx.each(context.Background(), groups, func(gr int) {
					lo, hi := gr*per, min((gr+1)*per, CellsPerRow)
					cn := hi - lo
					in := make([]bls.G1Affine, k*cn)
					for i := range d {
						copy(in[i*cn:(i+1)*cn], pts[i*CellsPerRow+lo:i*CellsPerRow+hi])
					}
					var ls lockstepFFT
					encodeAffine(e.extendCells(in, cn, &ls))
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/CellsPerRow, "ns/cell")
		})
	}
}
