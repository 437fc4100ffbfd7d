package encoder_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
)

// fullGrid returns the codeword's 4k × 128 cells.
func fullGrid(t testing.TB, e *encoder.Encoder, ext [][]fr.Element) [][][]fr.Element {
	t.Helper()
	g := make([][][]fr.Element, len(ext))
	for j, row := range ext {
		cells, err := e.Cells(context.Background(), row)
		if err != nil {
			t.Fatal(err)
		}
		g[j] = cells
	}
	return g
}

// mask returns a copy of g keeping cell (j, c) when keep(j, c).
func mask(g [][][]fr.Element, keep func(j, c int) bool) [][][]fr.Element {
	out := make([][][]fr.Element, len(g))
	for j := range g {
		out[j] = make([][]fr.Element, len(g[j]))
		for c := range g[j] {
			if keep(j, c) {
				out[j][c] = g[j][c]
			}
		}
	}
	return out
}

func TestReconstruct(t *testing.T) {
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(41, 42))
	for _, k := range testKs() {
		if k > 16 {
			continue // the grid tests are quadratic in memory; K = 256 runs in TestReconstructLong
		}
		ext := codeword(t, e, rng, k)
		full := fullGrid(t, e, ext)
		n := 4 * k
		patterns := map[string]func(j, c int) bool{
			"everything":              func(j, c int) bool { return true },
			"only data rows":          func(j, c int) bool { return j < k },
			"parity rows, left half":  func(j, c int) bool { return j >= k && c < 64 },
			"right half of every row": func(j, c int) bool { return c >= 64 },
			"odd cells of odd rows":   func(j, c int) bool { return j%2 == 1 && c%2 == 1 },
			// Rows 0..k−2 are row-decodable, row k−1 and all rows ≥ k hold 63 cells:
			// only row → column → row decoding finishes.
			"needs iteration": func(j, c int) bool {
				switch {
				case j < k-1:
					return c < 64
				case j == k-1:
					return c == 0 || c >= 66
				default:
					return c >= 1 && c < 64
				}
			},
			// Rows with < 64 cells only; columns complete them.
			"columns first": func(j, c int) bool {
				if j < k {
					return c%2 == 0 || c < 10
				}
				return c%2 == 1 && c > 20
			},
		}
		rnd := rand.New(rand.NewPCG(uint64(k), 99))
		keep := make([][]bool, n)
		for j := range keep {
			keep[j] = make([]bool, 128)
			for c := range keep[j] {
				keep[j][c] = rnd.Float64() < 0.6
			}
		}
		patterns["random 60%"] = func(j, c int) bool { return keep[j][c] }
		for name, p := range patterns {
			t.Run(fmt.Sprintf("K=%d/%s", k, name), func(t *testing.T) {
				got, err := e.Reconstruct(context.Background(), k, mask(full, p))
				if err != nil {
					t.Fatal(err)
				}
				requireRows(t, got, ext)
			})
		}
	}
}

// The "needs iteration" pattern is beyond a single RecoverRows or per-row RecoverCells.
func TestReconstructNeedsIteration(t *testing.T) {
	e := newEncoder(t)
	k := 4
	rng := rand.New(rand.NewPCG(43, 44))
	ext := codeword(t, e, rng, k)
	full := fullGrid(t, e, ext)
	g := mask(full, func(j, c int) bool {
		switch {
		case j < k-1:
			return c < 64
		case j == k-1:
			return c == 0 || c >= 66
		default:
			return c >= 1 && c < 64
		}
	})
	rowsAlone := 0
	for j := range g {
		have := map[int][]fr.Element{}
		for c, cell := range g[j] {
			if cell != nil {
				have[c] = cell
			}
		}
		if _, err := e.RecoverCells(context.Background(), have); err == nil {
			rowsAlone++
		}
	}
	if rowsAlone >= k {
		t.Fatalf("%d rows decodable alone: the pattern does not need iteration", rowsAlone)
	}
	got, err := e.Reconstruct(context.Background(), k, g)
	if err != nil {
		t.Fatal(err)
	}
	requireRows(t, got, ext)
}

func TestReconstructUnrecoverable(t *testing.T) {
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(45, 46))
	for _, k := range []int{1, 2, 4} {
		ext := codeword(t, e, rng, k)
		full := fullGrid(t, e, ext)
		n := 4 * k
		// A (4k − k + 1) × 65 block missing: each of those rows keeps 63 cells and
		// each of those cell columns keeps k − 1 rows.
		g := mask(full, func(j, c int) bool { return !(j <= n-k && c <= 64) })
		_, err := e.Reconstruct(context.Background(), k, g)
		var re *encoder.RecoveryError
		if !errors.Is(err, encoder.ErrUnrecoverable) || !errors.As(err, &re) {
			t.Fatalf("K=%d: got %v", k, err)
		}
		if re.Axis != encoder.AxisGrid || !slices.Equal(re.Missing, seqInts(0, n-k+1)) || re.Have != k-1 || re.Need != k {
			t.Fatalf("K=%d: %+v", k, re)
		}
		// One cell fewer missing and it decodes.
		g[0][0] = full[0][0]
		got, err := e.Reconstruct(context.Background(), k, g)
		if err != nil {
			t.Fatalf("K=%d with one more cell: %v", k, err)
		}
		requireRows(t, got, ext)
	}
}

func TestReconstructByzantine(t *testing.T) {
	e := newEncoder(t)
	k := 2
	rng := rand.New(rand.NewPCG(47, 48))
	ext := codeword(t, e, rng, k)
	full := fullGrid(t, e, ext)
	forge := func(g [][][]fr.Element, j, c int) {
		cell := slices.Clone(g[j][c])
		cell[3].SetUint64(5)
		g[j][c] = cell
	}
	for _, tc := range []struct {
		name string
		keep func(j, c int) bool
		j, c int
		want encoder.ByzantineError
	}{
		{"forged cell in a full row", func(j, c int) bool { return true }, 3, 100,
			encoder.ByzantineError{Axis: encoder.AxisRow, Line: 3, Index: 100}},
		{"forged cell in a sparse row", func(j, c int) bool { return j < k || (j == 5 && c%8 == 0) }, 5, 72,
			encoder.ByzantineError{Axis: encoder.AxisColumn, Line: 72, Index: 5}},
		{"forged cell in a row finished by columns", func(j, c int) bool {
			return (j < k && c != 9) || (j == 6 && c < 40) || (j == 7 && c == 9)
		}, 7, 9, encoder.ByzantineError{Axis: encoder.AxisColumn, Line: 9, Index: 7}},
		// Row 0 alone is complete; cell column 63 (rows 0, 6, 7) must be decoded
		// before row 1 (cells 0..62) can be.
		{"forged cell chosen by cell-column decoding", cellColumnPattern, 6, 63,
			encoder.ByzantineError{Axis: encoder.AxisColumn, Line: 63, Index: 7}},
		{"forged extra in cell-column decoding", cellColumnPattern, 7, 63,
			encoder.ByzantineError{Axis: encoder.AxisColumn, Line: 63, Index: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := mask(full, tc.keep)
			forge(g, tc.j, tc.c)
			_, err := e.Reconstruct(context.Background(), k, g)
			var be *encoder.ByzantineError
			if !errors.As(err, &be) || !errors.Is(err, encoder.ErrByzantineData) {
				t.Fatalf("got %v, want a ByzantineError", err)
			}
			if *be != tc.want {
				t.Fatalf("got %+v (%v), want %+v", *be, err, tc.want)
			}
		})
	}
	// A row that is internally consistent but not in the column code.
	t.Run("foreign row", func(t *testing.T) {
		other := randRows(rng, 1, encoder.ElementsPerRow)[0]
		cells, err := e.Cells(context.Background(), other)
		if err != nil {
			t.Fatal(err)
		}
		g := mask(full, func(j, c int) bool { return true })
		g[6] = cells
		_, err = e.Reconstruct(context.Background(), k, g)
		var be *encoder.ByzantineError
		if !errors.As(err, &be) || be.Axis != encoder.AxisColumn || be.Index != 6 {
			t.Fatalf("got %v", err)
		}
	})
}

func cellColumnPattern(j, c int) bool {
	return j == 0 || (j == 1 && c < 63) || ((j == 6 || j == 7) && c == 63)
}

func TestReconstructBadArgs(t *testing.T) {
	e := newEncoder(t)
	ctx := context.Background()
	cell := make([]fr.Element, 64)
	row := make([][]fr.Element, 128)
	for name, tc := range map[string]struct {
		k    int
		grid [][][]fr.Element
	}{
		"k = 0":           {0, nil},
		"wrong row count": {1, make([][][]fr.Element, 3)},
		"short grid row":  {1, [][][]fr.Element{row[:5], nil, nil, nil}},
		"short cell":      {1, [][][]fr.Element{{cell[:3]}, nil, nil, nil}},
		"empty grid":      {1, make([][][]fr.Element, 4)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.Reconstruct(ctx, tc.k, tc.grid); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestReconstructLong runs 2-D decoding at K = 256 (ZGDA_LONG=1).
func TestReconstructLong(t *testing.T) {
	if !long() {
		t.Skip("set ZGDA_LONG=1 for K = 256")
	}
	e := newEncoder(t)
	k := 256
	ext := codeword(t, e, rand.New(rand.NewPCG(49, 50)), k)
	full := fullGrid(t, e, ext)
	for name, p := range map[string]func(j, c int) bool{
		"odd cells of odd rows": func(j, c int) bool { return j%2 == 1 && c%2 == 1 },
		"needs iteration": func(j, c int) bool {
			switch {
			case j < k-1:
				return c < 64
			case j == k-1:
				return c == 0 || c >= 66
			default:
				return c >= 1 && c < 64
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := e.Reconstruct(context.Background(), k, mask(full, p))
			if err != nil {
				t.Fatal(err)
			}
			requireRows(t, got, ext)
		})
	}
}
