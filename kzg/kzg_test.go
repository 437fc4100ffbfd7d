package kzg

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"
	goethkzg "github.com/crate-crypto/go-eth-kzg"
)

func testContext() *Context { return Default() }

var ethContext = func() func(t testing.TB) *goethkzg.Context {
	var c *goethkzg.Context
	return func(t testing.TB) *goethkzg.Context {
		if c == nil {
			var err error
			if c, err = goethkzg.NewContext4096Secure(); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
}()

func randomRow(rng *rand.Rand) []fr.Element {
	row := make([]fr.Element, ScalarsPerRow)
	for i := range row {
		row[i].SetUint64(rng.Uint64())
		var hi fr.Element
		hi.SetUint64(rng.Uint64())
		row[i].Mul(&row[i], &hi) // full-width field elements
		row[i].Add(&row[i], &hi)
	}
	return row
}

func toBlob(row []fr.Element) *goethkzg.Blob {
	var b goethkzg.Blob
	for i := range row {
		e := row[i].Bytes()
		copy(b[i*32:], e[:])
	}
	return &b
}

// TestTrustedSetupWellFormed checks every embedded point (parseSetup skips
// the subgroup check for speed) and that the Lagrange points are the
// bit-reversed Lagrange form of the monomial ones: committing to the
// evaluations of f(x) = x must give [τ]G1.
func TestTrustedSetupWellFormed(t *testing.T) {
	s, err := parseSetup(trustedSetupJSON)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.lagrange {
		if !s.lagrange[i].IsInSubGroup() || !s.monomial[i].IsInSubGroup() {
			t.Fatalf("point %d is not in the subgroup", i)
		}
	}
	_, _, g1, _ := bls.Generators()
	if !s.monomial[0].Equal(&g1) {
		t.Fatal("monomial[0] is not the generator")
	}
	d := fft.NewDomain(ScalarsPerRow)
	x := make([]fr.Element, ScalarsPerRow)
	x[1].SetOne() // f(x) = x in coefficients
	d.FFT(x, fft.DIF)
	c, err := testContext().Commit(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := Commitment(s.monomial[1].Bytes()); c != want {
		t.Fatalf("commit(x) = %s, want [τ] = %s", c, want)
	}
}

func TestCommitMatchesGoEthKZG(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	eth := ethContext(t)
	rows := [][]fr.Element{make([]fr.Element, ScalarsPerRow)} // the zero row: infinity
	for i := 0; i < 3; i++ {
		rows = append(rows, randomRow(rng))
	}
	sparse := make([]fr.Element, ScalarsPerRow)
	sparse[17].SetOne()
	sparse[4095].SetInt64(-1)
	rows = append(rows, sparse)
	got, err := testContext().CommitRows(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		want, err := eth.BlobToKZGCommitment(toBlob(row), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got[i] != Commitment(want) {
			t.Errorf("row %d: CommitRows %s, go-eth-kzg %x", i, got[i], want)
		}
		one, err := testContext().Commit(row)
		if err != nil || one != got[i] {
			t.Errorf("row %d: Commit %s differs from CommitRows %s (%v)", i, one, got[i], err)
		}
	}
}

func TestCellsAndProofsMatchGoEthKZG(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	eth := ethContext(t)
	rows := [][]fr.Element{randomRow(rng), make([]fr.Element, ScalarsPerRow)}
	if !testing.Short() {
		rows = append(rows, randomRow(rng))
	}
	for n, row := range rows {
		cells, proofs, err := testContext().ComputeCellsAndProofs(row)
		if err != nil {
			t.Fatal(err)
		}
		wantCells, wantProofs, err := eth.ComputeCellsAndKZGProofs(toBlob(row), 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range cells {
			if string(CellBytes(cells[i])) != string(wantCells[i][:]) {
				t.Fatalf("row %d cell %d differs from go-eth-kzg", n, i)
			}
			if proofs[i] != Proof(wantProofs[i]) {
				t.Fatalf("row %d proof %d differs from go-eth-kzg", n, i)
			}
		}
	}
}

// extendColumns is an independent, deliberately plain column extension
// (IFFT of size K, FFT of size 4K per column) used to check parity
// commitments: data are the K matrix rows, padding rows included.
func extendColumns(data [][]fr.Element) [][]fr.Element {
	k := len(data)
	dk, d4k := fft.NewDomain(uint64(k)), fft.NewDomain(uint64(4*k))
	out := make([][]fr.Element, 4*k)
	for j := range out {
		out[j] = make([]fr.Element, ScalarsPerRow)
	}
	col := make([]fr.Element, 4*k)
	for t := 0; t < ScalarsPerRow; t++ {
		clear(col)
		for i := 0; i < k; i++ {
			col[i] = data[i][t]
		}
		dk.FFTInverse(col[:k], fft.DIT)
		d4k.FFT(col, fft.DIF)
		for j := range out {
			out[j][t] = col[j]
		}
	}
	return out
}

func TestVerifyCellsDetectsTampering(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	ctx := testContext()
	row := randomRow(rng)
	comm, err := ctx.Commit(row)
	if err != nil {
		t.Fatal(err)
	}
	cells, proofs, err := ctx.ComputeCellsAndProofs(row)
	if err != nil {
		t.Fatal(err)
	}
	idx := []uint64{0, 5, 127}
	pick := func() ([]Commitment, [][]fr.Element, []Proof) {
		cs := []Commitment{comm, comm, comm}
		cl := [][]fr.Element{append([]fr.Element{}, cells[0]...), append([]fr.Element{}, cells[5]...), append([]fr.Element{}, cells[127]...)}
		ps := []Proof{proofs[0], proofs[5], proofs[127]}
		return cs, cl, ps
	}
	cs, cl, ps := pick()
	if err := ctx.VerifyCells(cs, idx, cl, ps); err != nil {
		t.Fatalf("honest cells: %v", err)
	}
	cs, cl, ps = pick()
	cl[1][3].Add(&cl[1][3], &cl[1][4])
	if err := ctx.VerifyCells(cs, idx, cl, ps); !IsVerifyFailure(err) {
		t.Errorf("tampered cell: got %v", err)
	}
	cs, cl, ps = pick()
	ps[2] = proofs[126]
	if err := ctx.VerifyCells(cs, idx, cl, ps); !IsVerifyFailure(err) {
		t.Errorf("wrong proof: got %v", err)
	}
	cs, cl, ps = pick()
	if err := ctx.VerifyCells(cs, []uint64{0, 5, 128}, cl, ps); !errors.Is(err, ErrBadArgument) {
		t.Errorf("index 128: got %v", err)
	}
	if err := ctx.VerifyCells(cs, idx[:2], cl, ps); !errors.Is(err, ErrBadArgument) {
		t.Errorf("length mismatch: got %v", err)
	}
}

func TestRowLengthErrors(t *testing.T) {
	ctx := testContext()
	if _, err := ctx.Commit(make([]fr.Element, 10)); !errors.Is(err, ErrRowLength) {
		t.Errorf("Commit: %v", err)
	}
	if _, _, err := ctx.ComputeCellsAndProofs(make([]fr.Element, 4097)); !errors.Is(err, ErrRowLength) {
		t.Errorf("ComputeCellsAndProofs: %v", err)
	}
	if _, err := ctx.CommitRows(context.Background(), [][]fr.Element{make([]fr.Element, 4096), nil}, nil); !errors.Is(err, ErrRowLength) {
		t.Errorf("CommitRows: %v", err)
	}
}

func FuzzParseCommitment(f *testing.F) {
	inf := make([]byte, 48)
	inf[0] = 0xc0
	f.Add(inf)
	_, _, g1, _ := bls.Generators()
	gb := g1.Bytes()
	f.Add(gb[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommitment(b)
		if err != nil {
			return
		}
		var p bls.G1Affine
		if _, err := p.SetBytes(c[:]); err != nil || !p.IsInSubGroup() {
			t.Fatalf("accepted %x, which is not a subgroup point", b)
		}
	})
}

func FuzzParseCell(f *testing.F) {
	f.Add(make([]byte, BytesPerCell))
	f.Fuzz(func(t *testing.T, b []byte) {
		cell, err := ParseCell(b)
		if err != nil {
			return
		}
		if string(CellBytes(cell)) != string(b) {
			t.Fatal("accepted cell does not round-trip")
		}
	})
}
