package sampler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// sampleGrid is the N = 16 dispersed rows of a batch of D = 4 data rows (K
// = 4, no padding): commitments, cells and proofs, computed once for every
// benchmark.
var sampleGrid = sync.OnceValues(func() (*grid, error) {
	ctx := context.Background()
	enc, err := encoder.New()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(7, 8))
	data := make([][]fr.Element, 4)
	for i := range data {
		data[i] = make([]fr.Element, encoder.ElementsPerRow)
		for j := range data[i] {
			data[i][j].SetUint64(rng.Uint64())
		}
	}
	ext, err := enc.Extend(ctx, data)
	if err != nil {
		return nil, err
	}
	c := kzg.Default()
	g := &grid{}
	for _, row := range ext {
		cm, err := c.Commit(row)
		if err != nil {
			return nil, err
		}
		cells, proofs, err := c.ComputeCellsAndProofs(row)
		if err != nil {
			return nil, err
		}
		g.comms = append(g.comms, cm)
		g.cells = append(g.cells, cells)
		g.proofs = append(g.proofs, proofs)
	}
	// The verifier's own tables load on first use: not part of a sample.
	if err := c.VerifyCell(g.comms[0], 0, g.cells[0][0], g.proofs[0][0]); err != nil {
		return nil, err
	}
	return g, nil
})

type grid struct {
	comms  []kzg.Commitment
	cells  [][][]fr.Element
	proofs [][]kzg.Proof
}

// BenchmarkVerifySamples verifies n sampled cells of a D = 4 batch, drawn
// at random from its 16 × 128 grid: in one EIP-7594 batch (what the Sampler
// does each round) and one by one.
func BenchmarkVerifySamples(b *testing.B) {
	g, err := sampleGrid()
	if err != nil {
		b.Fatal(err)
	}
	c := kzg.Default()
	for _, n := range []int{16, 64, 256} {
		rng := rand.New(rand.NewPCG(uint64(n), 9))
		comms := make([]kzg.Commitment, n)
		idx := make([]uint64, n)
		cells := make([][]fr.Element, n)
		proofs := make([]kzg.Proof, n)
		for i := range n {
			r, k := rng.IntN(len(g.comms)), rng.IntN(kzg.CellsPerRow)
			comms[i], idx[i], cells[i], proofs[i] = g.comms[r], uint64(k), g.cells[r][k], g.proofs[r][k]
		}
		run := func(b *testing.B, verify func() error) {
			b.SetBytes(int64(n * kzg.BytesPerCell))
			b.ReportAllocs()
			for b.Loop() {
				if err := verify(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
		}
		b.Run(fmt.Sprintf("%d/batch", n), func(b *testing.B) {
			run(b, func() error { return c.VerifyCells(comms, idx, cells, proofs) })
		})
		b.Run(fmt.Sprintf("%d/one-by-one", n), func(b *testing.B) {
			run(b, func() error {
				for i := range n {
					if err := c.VerifyCell(comms[i], idx[i], cells[i], proofs[i]); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
}
