package kzg

import (
	"fmt"
	"math/big"
	"math/bits"
	"sync"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"

	"github.com/zgda/zgda/kzg/internal/msm"
)

// Cells of a row (docs/spec.md §3.5) and the proof of one cell on its own.
//
// FK20 (fk20.go) pays for all 128 proofs of a row at once; a node asked for
// one cell of a row it has not extended yet computes just that cell's proof:
// EIP-7594 compute_kzg_proof_multi_impl. Cell k lies on the coset h·⟨ω_64⟩
// with h = ω_8192^brp_128(k), whose vanishing polynomial is X^64 − z,
// z = h^64 = ω_128^brp_128(k). Its proof is the commitment of the quotient
// q = (p − I) / (X^64 − z), which is the quotient of dividing p by
// X^64 − z in coefficient form (the remainder is I, of degree < 64): an
// O(4096) synthetic division, then one MSM of 4032 scalars over the
// monomial setup points [τ^m]G1, from a fixed-base table of its own.

const (
	cellQuotientLen = ScalarsPerRow - ScalarsPerCell // deg q < 4032
	cellWindowBits  = commitWindowBits               // an MSM of the same size as a row commitment
)

// rowDomains are the FFT domains of compute_cells, shared by FK20 and the
// single-cell path so that cells are computed in one place.
type rowDomains struct {
	dom4k *fft.Domain // 4096: row ⇄ coefficients
	dom8k *fft.Domain // 8192: coefficients → extended row
	dom64 *fft.Domain // 64: one cell's coset (verification)
}

func (c *Context) domains() *rowDomains {
	c.domOnce.Do(func() {
		c.doms = &rowDomains{
			dom4k: fft.NewDomain(ScalarsPerRow),
			dom8k: fft.NewDomain(ScalarsPerExtRow),
			dom64: fft.NewDomain(ScalarsPerCell),
		}
	})
	return c.doms
}

// coefficients returns a new 8192-element buffer holding the 4096
// natural-order coefficients of the row polynomial, then zeros (ready for
// cells). row is only read.
func (d *rowDomains) coefficients(row []fr.Element) []fr.Element {
	buf := make([]fr.Element, ScalarsPerExtRow)
	copy(buf, row)
	d.dom4k.FFTInverse(buf[:ScalarsPerRow], fft.DIT)
	return buf
}

// cells turns the buffer of coefficients into the extended row in place
// (the 8192 evaluations in bit-reversed order: EIP-7594 compute_cells) and
// cuts it into 128 cells of 64, which alias buf.
func (d *rowDomains) cells(buf []fr.Element) [][]fr.Element {
	d.dom8k.FFT(buf, fft.DIF)
	cells := make([][]fr.Element, CellsPerRow)
	for i := range cells {
		cells[i] = buf[i*ScalarsPerCell : (i+1)*ScalarsPerCell : (i+1)*ScalarsPerCell]
	}
	return cells
}

// cellCoset returns cell k's coset shift h = ω_8192^brp_7(k) and its
// vanishing constant z = h^64 (the coset is the root set of X^64 − z).
func (c *Context) cellCoset(k uint64) (h, z fr.Element) {
	e := bits.Reverse64(k) >> (64 - 7)
	h.Exp(c.domains().dom8k.Generator, new(big.Int).SetUint64(e))
	z = h
	for range 6 { // 64 = 2^6
		z.Square(&z)
	}
	return h, z
}

func (c *Context) cellTable() (*msm.Table, error) {
	c.cellOnce.Do(func() {
		s, err := c.loadSetup()
		if err != nil {
			c.cellErr = err
			return
		}
		c.cellTab, c.cellErr = msm.NewTable(s.monomial[:cellQuotientLen], cellWindowBits, c.workers)
	})
	return c.cellTab, c.cellErr
}

// WarmCellProof builds the single-cell proof table now (about as costly as
// Warm's), so that a node's first ComputeCellAndProof does not pay for it.
func (c *Context) WarmCellProof() error {
	_, err := c.cellTable()
	return err
}

// ComputeCellAndProof returns cell index (64 field elements, owned by the
// caller) of a row and its KZG proof, byte for byte what
// ComputeCellsAndProofs gives for that cell, at the cost of one MSM instead
// of FK20 over the whole row. The MSM is split over the Context's workers.
// row is only read.
func (c *Context) ComputeCellAndProof(row []fr.Element, index uint64) ([]fr.Element, Proof, error) {
	if len(row) != ScalarsPerRow {
		return nil, Proof{}, fmt.Errorf("%w: got %d", ErrRowLength, len(row))
	}
	if index >= CellsPerRow {
		return nil, Proof{}, fmt.Errorf("%w: cell index %d is not below %d", ErrBadArgument, index, CellsPerRow)
	}
	tab, err := c.cellTable()
	if err != nil {
		return nil, Proof{}, err
	}
	d := c.domains()
	coeffs := d.coefficients(row)

	_, z := c.cellCoset(index)
	// Synthetic division by X^64 − z: q_m = f_{m+64} + z·q_{m+64}.
	q := make([]fr.Element, cellQuotientLen)
	for m := cellQuotientLen - 1; m >= 0; m-- {
		q[m] = coeffs[m+ScalarsPerCell]
		if m+ScalarsPerCell < cellQuotientLen {
			var t fr.Element
			t.Mul(&z, &q[m+ScalarsPerCell])
			q[m].Add(&q[m], &t)
		}
	}
	jac := multiExpSplit(tab, q, c.workers)

	cell := make([]fr.Element, ScalarsPerCell)
	copy(cell, d.cells(coeffs)[index])
	var p bls.G1Affine
	p.FromJacobian(&jac)
	return cell, p.Bytes(), nil
}

// multiExpSplit is one MSM over all of tab's bases, split by bucket into
// one part per worker (msm.MultiExpPart).
func multiExpSplit(tab *msm.Table, scalars []fr.Element, workers int) bls.G1Jac {
	parts := make([]bls.G1Jac, workers)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if parts[i], err = tab.MultiExpPart(scalars, i, workers); err != nil {
				panic(err) // lengths and parts are ours
			}
		}()
	}
	wg.Wait()
	sum := parts[0]
	for i := 1; i < len(parts); i++ {
		sum.AddAssign(&parts[i])
	}
	return sum
}
