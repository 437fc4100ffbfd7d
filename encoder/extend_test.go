package encoder_test

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"
	goethkzg "github.com/crate-crypto/go-eth-kzg"

	"github.com/zgda/zgda/encoder"
)

// The roots of unity are Ethereum's: ω_{2^32} = 7^((r−1)/2^32).
func TestRootsOfUnityAreEthereums(t *testing.T) {
	r := fr.Modulus()
	e := new(big.Int).Sub(r, big.NewInt(1))
	e.Rsh(e, 32)
	w := new(big.Int).Exp(big.NewInt(7), e, r)
	for i := 0; i < 32-12; i++ { // ω_4096 = ω_{2^32}^(2^20)
		w.Mul(w, w).Mod(w, r)
	}
	var want fr.Element
	want.SetBigInt(w)
	got, err := fr.Generator(4096)
	if err != nil || !got.Equal(&want) {
		t.Fatalf("ω_4096 = %s, want %s", got.String(), want.String())
	}
}

// rootPow returns ω_n^e.
func rootPow(t testing.TB, n, e int) fr.Element {
	w, err := fr.Generator(uint64(n))
	if err != nil {
		t.Fatal(err)
	}
	var r fr.Element
	r.Exp(w, big.NewInt(int64(e)))
	return r
}

// TestExtendMatchesLagrange checks the column extension against direct
// Lagrange evaluation: q_t through (ω_K^{brp_K(i)}, row_i[t]) evaluated at
// ω_{4K}^{brp_{4K}(j)}, with no FFT involved.
func TestExtendMatchesLagrange(t *testing.T) {
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 4, 8} {
		data := randRows(rng, k, encoder.ElementsPerRow)
		out, err := e.Extend(context.Background(), data)
		if err != nil {
			t.Fatal(err)
		}
		n := 4 * k
		xs := make([]fr.Element, k)
		for i := range xs {
			xs[i] = rootPow(t, k, bitReverse(i, log2(k)))
		}
		for _, col := range []int{0, 1, 63, 64, 2047, 4095} {
			for j := 0; j < n; j++ {
				z := rootPow(t, n, bitReverse(j, log2(n)))
				var sum fr.Element
				for i := 0; i < k; i++ {
					l := data[i][col]
					for m := 0; m < k; m++ {
						if m == i {
							continue
						}
						var num, den fr.Element
						num.Sub(&z, &xs[m])
						den.Sub(&xs[i], &xs[m])
						den.Inverse(&den)
						l.Mul(&l, &num).Mul(&l, &den)
					}
					sum.Add(&sum, &l)
				}
				if !sum.Equal(&out[j][col]) {
					t.Fatalf("K=%d row %d column %d: got %s, want %s", k, j, col, out[j][col].String(), sum.String())
				}
			}
		}
	}
}

func TestExtendSystematicLowDegree(t *testing.T) {
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, k := range testKs() {
		data := randRows(rng, k, encoder.ElementsPerRow)
		keep := make([][]fr.Element, k)
		for i := range data {
			keep[i] = append([]fr.Element(nil), data[i]...)
		}
		out, err := e.Extend(context.Background(), data)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 4*k {
			t.Fatalf("K=%d: %d rows", k, len(out))
		}
		requireRows(t, out[:k], keep)
		requireRows(t, data, keep) // input untouched
		n := 4 * k
		dom := fft.NewDomain(uint64(n))
		col := make([]fr.Element, n)
		for c := 0; c < encoder.ElementsPerRow; c += 1 + c/8 {
			for j := 0; j < n; j++ {
				col[j] = out[j][c]
			}
			dom.FFTInverse(col, fft.DIT) // bit-reversed evaluations → coefficients
			for i := k; i < n; i++ {
				if !col[i].IsZero() {
					t.Fatalf("K=%d column %d: coefficient %d is non-zero", k, c, i)
				}
			}
		}
	}
}

func TestExtendErrors(t *testing.T) {
	e := newEncoder(t)
	ctx := context.Background()
	for _, k := range []int{0, 3, 512} {
		if _, err := e.Extend(ctx, make([][]fr.Element, k)); err == nil {
			t.Errorf("Extend with %d rows: no error", k)
		}
	}
	if _, err := e.Extend(ctx, [][]fr.Element{make([]fr.Element, 5)}); !errors.Is(err, encoder.ErrShape) {
		t.Errorf("short row: %v", err)
	}
	b := encoder.NewCPUBackend(1)
	data := [][]fr.Element{make([]fr.Element, 4096)}
	if err := b.ExtendColumns(ctx, data, make([][]fr.Element, 3)); !errors.Is(err, encoder.ErrShape) {
		t.Errorf("ExtendColumns with 3 out rows: %v", err)
	}
	if err := b.ExtendRows(ctx, data, [][]fr.Element{make([]fr.Element, 4096)}); !errors.Is(err, encoder.ErrShape) {
		t.Errorf("ExtendRows with a short out row: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Extend(cctx, data); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Extend: %v", err)
	}
	if _, err := e.Cells(ctx, make([]fr.Element, 4097)); !errors.Is(err, encoder.ErrShape) {
		t.Errorf("Cells of a long row: %v", err)
	}
	if _, err := encoder.New(encoder.WithWorkers(-1)); err == nil {
		t.Error("WithWorkers(-1) accepted")
	}
	if _, err := encoder.New(encoder.WithBackend(nil)); err == nil {
		t.Error("WithBackend(nil) accepted")
	}
}

// ExtendColumns computes exactly the wanted (non-nil) rows, as EncodeBatch
// asks for them: a D = 5 matrix with its three padding rows one shared zero
// row, only the parity rows K … K+3D−1 and one data row wanted.
func TestExtendColumnsWantedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const d, k = 5, 8
	matrix := randRows(rng, d, encoder.ElementsPerRow)
	zero := make([]fr.Element, encoder.ElementsPerRow)
	for len(matrix) < k {
		matrix = append(matrix, zero)
	}
	full, err := newEncoder(t).Extend(context.Background(), matrix)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		out := make([][]fr.Element, 4*k)
		out[2] = make([]fr.Element, encoder.ElementsPerRow)
		for j := k; j < k+3*d; j++ {
			out[j] = make([]fr.Element, encoder.ElementsPerRow)
		}
		if err := encoder.NewCPUBackend(workers).ExtendColumns(context.Background(), matrix, out); err != nil {
			t.Fatal(err)
		}
		requireRows(t, out[k:k+3*d], full[k:k+3*d])
		requireRows(t, out[2:3], full[2:3])
		for j, r := range out {
			if r == nil && (j == 2 || (j >= k && j < k+3*d)) || r != nil && j != 2 && (j < k || j >= k+3*d) {
				t.Fatalf("row %d: wanted-ness changed", j)
			}
		}
		for i := range zero {
			if !zero[i].IsZero() {
				t.Fatal("the shared padding row was written")
			}
		}
	}
	out := make([][]fr.Element, 4*k)
	out[9] = make([]fr.Element, 17)
	if err := encoder.NewCPUBackend(1).ExtendColumns(context.Background(), matrix, out); !errors.Is(err, encoder.ErrShape) {
		t.Fatalf("short wanted row: %v", err)
	}
}

// The worker count must not change the result.
func TestExtendWorkersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	data := randRows(rng, 16, encoder.ElementsPerRow)
	var first [][]fr.Element
	for _, w := range []int{1, 3, 0} {
		e, err := encoder.New(encoder.WithWorkers(w))
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Extend(context.Background(), data)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
			continue
		}
		requireRows(t, out, first)
	}
}

var (
	ethOnce sync.Once
	ethCtx  *goethkzg.Context
	ethErr  error
)

func ethKZG(t testing.TB) *goethkzg.Context {
	t.Helper()
	ethOnce.Do(func() { ethCtx, ethErr = goethkzg.NewContext4096Secure() })
	if ethErr != nil {
		t.Fatal(ethErr)
	}
	return ethCtx
}

func toBlob(row []fr.Element) *goethkzg.Blob {
	var b goethkzg.Blob
	for i := range row {
		v := row[i].Bytes()
		copy(b[32*i:], v[:])
	}
	return &b
}

func cellBytes(cell []fr.Element) []byte {
	var buf bytes.Buffer
	for i := range cell {
		v := cell[i].Bytes()
		buf.Write(v[:])
	}
	return buf.Bytes()
}

// Cells of a data row and of a derived row (j ≥ K) equal go-eth-kzg's
// ComputeCells (EIP-7594 compute_cells) byte for byte.
func TestCellsMatchGoEthKZG(t *testing.T) {
	ctx := ethKZG(t)
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(9, 10))
	ext := codeword(t, e, rng, 2)
	packed, err := encoder.Pack(bytes.Repeat([]byte("zgda/v2 "), 9000))
	if err != nil {
		t.Fatal(err)
	}
	for name, row := range map[string][]fr.Element{
		"random data row": ext[0], "derived row 5": ext[5], "packed bytes": packed[0],
		"zero row": make([]fr.Element, encoder.ElementsPerRow),
	} {
		t.Run(name, func(t *testing.T) {
			want, err := ctx.ComputeCells(toBlob(row), 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Cells(context.Background(), row)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != encoder.CellsPerRow {
				t.Fatalf("%d cells", len(got))
			}
			for c := range got {
				if !bytes.Equal(cellBytes(got[c]), want[c][:]) {
					t.Fatalf("cell %d differs from go-eth-kzg", c)
				}
			}
		})
	}
}

// RecoverCells agrees with go-eth-kzg's RecoverCells (EIP-7594 recover_cells).
func TestRecoverCellsMatchesGoEthKZG(t *testing.T) {
	ctx := ethKZG(t)
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(11, 12))
	row := randRows(rng, 1, encoder.ElementsPerRow)[0]
	cells, err := e.Cells(context.Background(), row)
	if err != nil {
		t.Fatal(err)
	}
	ids := rng.Perm(encoder.CellsPerRow)[:64]
	have := map[int][]fr.Element{}
	for _, c := range ids {
		have[c] = cells[c]
	}
	got, err := e.RecoverCells(context.Background(), have)
	if err != nil {
		t.Fatal(err)
	}
	var sorted []uint64
	var ethCells []*goethkzg.Cell
	for c := 0; c < encoder.CellsPerRow; c++ {
		if v, ok := have[c]; ok {
			sorted = append(sorted, uint64(c))
			var cell goethkzg.Cell
			copy(cell[:], cellBytes(v))
			ethCells = append(ethCells, &cell)
		}
	}
	want, err := ctx.RecoverCells(sorted, ethCells, 1)
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < encoder.CellsPerRow/2; c++ {
		if !bytes.Equal(cellBytes(got[64*c:64*c+64]), want[c][:]) {
			t.Fatalf("cell %d of the recovered row differs from go-eth-kzg", c)
		}
	}
}
