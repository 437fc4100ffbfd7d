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

// rowPatterns returns named sets of row indices (of 4k) to supply.
func rowPatterns(rng *rand.Rand, k int) map[string][]int {
	n := 4 * k
	seq := func(lo, hi int) []int {
		var v []int
		for j := lo; j < hi; j++ {
			v = append(v, j)
		}
		return v
	}
	p := map[string][]int{
		"data rows":          seq(0, k),
		"all parity rows":    seq(k, n),
		"last k rows":        seq(n-k, n),
		"all rows":           seq(0, n),
		"every fourth row":   nil,
		"contiguous block":   nil,
		"data minus one+one": append(seq(1, k), n-1),
	}
	for j := 3; j < n; j += 4 {
		p["every fourth row"] = append(p["every fourth row"], j)
	}
	off := rng.IntN(n - k + 1)
	p["contiguous block"] = seq(off, off+k)
	for i := range 4 {
		p[fmt.Sprintf("random %d", i)] = rng.Perm(n)[:k]
	}
	p["random k+3"] = rng.Perm(n)[:min(k+3, n)]
	return p
}

func TestRecoverRows(t *testing.T) {
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, k := range testKs() {
		ext := codeword(t, e, rng, k)
		for name, idx := range rowPatterns(rng, k) {
			t.Run(fmt.Sprintf("K=%d/%s", k, name), func(t *testing.T) {
				have := map[int][]fr.Element{}
				for _, j := range idx {
					have[j] = ext[j]
				}
				got, err := e.RecoverRows(context.Background(), k, have)
				if err != nil {
					t.Fatal(err)
				}
				requireRows(t, got, ext)
				if len(idx) > 0 && &got[idx[0]][0] == &ext[idx[0]][0] {
					t.Fatal("result aliases a given row")
				}
			})
		}
	}
}

func TestRecoverRowsTooFew(t *testing.T) {
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(23, 24))
	for _, k := range []int{1, 2, 16} {
		ext := codeword(t, e, rng, k)
		n := 4 * k
		idx := rng.Perm(n)[:k-1]
		have := map[int][]fr.Element{}
		for _, j := range idx {
			have[j] = ext[j]
		}
		have[idx0(idx, n)] = nil // a nil row counts as absent
		_, err := e.RecoverRows(context.Background(), k, have)
		var re *encoder.RecoveryError
		if !errors.Is(err, encoder.ErrNotEnoughRows) || !errors.As(err, &re) {
			t.Fatalf("K=%d: %v", k, err)
		}
		var want []int
		for j := 0; j < n; j++ {
			if !slices.Contains(idx, j) {
				want = append(want, j)
			}
		}
		if re.Axis != encoder.AxisColumn || re.Have != k-1 || re.Need != k || !slices.Equal(re.Missing, want) {
			t.Fatalf("K=%d: %+v, want missing %v", k, re, want)
		}
	}
}

// idx0 returns some row index not in idx.
func idx0(idx []int, n int) int {
	for j := 0; j < n; j++ {
		if !slices.Contains(idx, j) {
			return j
		}
	}
	return 0
}

func TestRecoverRowsByzantine(t *testing.T) {
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(25, 26))
	for _, k := range []int{1, 2, 4, 16} {
		ext := codeword(t, e, rng, k)
		n := 4 * k
		idx := rng.Perm(n)[:k+2]
		slices.Sort(idx)
		for _, bad := range []int{idx[k], idx[k+1], idx[0]} {
			t.Run(fmt.Sprintf("K=%d/bad row %d", k, bad), func(t *testing.T) {
				have := map[int][]fr.Element{}
				for _, j := range idx {
					have[j] = ext[j]
				}
				forged := slices.Clone(ext[bad])
				forged[rng.IntN(len(forged))].SetUint64(42)
				have[bad] = forged
				_, err := e.RecoverRows(context.Background(), k, have)
				var be *encoder.ByzantineError
				if !errors.Is(err, encoder.ErrByzantineData) || !errors.As(err, &be) || be.Axis != encoder.AxisColumn {
					t.Fatalf("got %v, want a ByzantineError", err)
				}
				// Decoding uses the k lowest rows; a forged extra is named exactly, a
				// forged chosen row makes the lowest extra disagree.
				want := bad
				if bad < idx[k] {
					want = idx[k]
				}
				if be.Index != want {
					t.Fatalf("error names row %d, want %d", be.Index, want)
				}
			})
		}
	}
}

func TestRecoverRowsBadArgs(t *testing.T) {
	e := newEncoder(t)
	row := make([]fr.Element, encoder.ElementsPerRow)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		k    int
		rows map[int][]fr.Element
	}{
		"k not a power of two": {3, map[int][]fr.Element{0: row, 1: row, 2: row}},
		"k too large":          {512, map[int][]fr.Element{0: row}},
		"index too large":      {1, map[int][]fr.Element{4: row}},
		"negative index":       {1, map[int][]fr.Element{-1: row}},
		"short row":            {1, map[int][]fr.Element{0: row[:10]}},
		"no rows":              {2, nil},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.RecoverRows(ctx, tc.k, tc.rows); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// cellPatterns returns named sets of ≥ 64 cell indices.
func cellPatterns(rng *rand.Rand) map[string][]int {
	p := map[string][]int{}
	for c := 0; c < 128; c++ {
		if c < 64 {
			p["first half"] = append(p["first half"], c)
		} else {
			p["last half"] = append(p["last half"], c)
		}
		if c%2 == 0 {
			p["even"] = append(p["even"], c)
		} else {
			p["odd"] = append(p["odd"], c)
		}
		if c != 5 {
			p["all but one"] = append(p["all but one"], c)
		}
		p["all"] = append(p["all"], c)
		if c%4 >= 2 {
			p["pairs"] = append(p["pairs"], c)
		}
	}
	p["middle block"] = p["all"][32:96]
	for i := range 4 {
		p[fmt.Sprintf("random %d", i)] = rng.Perm(128)[:64]
	}
	p["random 100"] = rng.Perm(128)[:100]
	return p
}

func TestRecoverCells(t *testing.T) {
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(31, 32))
	ext := codeword(t, e, rng, 2)
	for _, j := range []int{0, 7} {
		cells, err := e.Cells(context.Background(), ext[j])
		if err != nil {
			t.Fatal(err)
		}
		for name, idx := range cellPatterns(rng) {
			t.Run(fmt.Sprintf("row %d/%s", j, name), func(t *testing.T) {
				have := map[int][]fr.Element{}
				for _, c := range idx {
					have[c] = cells[c]
				}
				got, err := e.RecoverCells(context.Background(), have)
				if err != nil {
					t.Fatal(err)
				}
				requireRows(t, [][]fr.Element{got}, [][]fr.Element{ext[j]})
			})
		}
	}
}

func TestRecoverCellsErrors(t *testing.T) {
	e := newEncoder(t)
	rng := rand.New(rand.NewPCG(33, 34))
	row := randRows(rng, 1, encoder.ElementsPerRow)[0]
	cells, err := e.Cells(context.Background(), row)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("63 cells", func(t *testing.T) {
		idx := rng.Perm(128)[:63]
		have := map[int][]fr.Element{}
		for _, c := range idx {
			have[c] = cells[c]
		}
		_, err := e.RecoverCells(ctx, have)
		var re *encoder.RecoveryError
		if !errors.Is(err, encoder.ErrNotEnoughCells) || !errors.As(err, &re) {
			t.Fatalf("got %v", err)
		}
		var want []int
		for c := 0; c < 128; c++ {
			if !slices.Contains(idx, c) {
				want = append(want, c)
			}
		}
		if re.Axis != encoder.AxisRow || re.Have != 63 || re.Need != 64 || !slices.Equal(re.Missing, want) {
			t.Fatalf("%+v", re)
		}
	})
	for _, tc := range []struct {
		name    string
		idx     []int
		bad     int
		wantIdx int
	}{
		{"forged extra in the upper half", append(seqInts(0, 64), 100), 100, 100},
		{"forged chosen cell in the lower half", append(seqInts(64, 128), 3), 3, 127},
		{"forged chosen cell", seqInts(0, 128), 10, 64},
		{"forged extra among odd", append(oddInts(), 0), 127, 127},
		{"forged chosen among odd", append(oddInts(), 0), 0, 127},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := map[int][]fr.Element{}
			for _, c := range tc.idx {
				have[c] = cells[c]
			}
			forged := slices.Clone(cells[tc.bad])
			forged[17].SetUint64(7)
			have[tc.bad] = forged
			_, err := e.RecoverCells(ctx, have)
			var be *encoder.ByzantineError
			if !errors.As(err, &be) || !errors.Is(err, encoder.ErrByzantineData) || be.Axis != encoder.AxisRow || be.Index != tc.wantIdx {
				t.Fatalf("got %v, want a ByzantineError naming cell %d", err, tc.wantIdx)
			}
		})
	}
	for name, have := range map[string]map[int][]fr.Element{
		"index 128":   {128: cells[0]},
		"index -1":    {-1: cells[0]},
		"short cell":  {0: cells[0][:63]},
		"long cell":   {0: append(slices.Clone(cells[0]), fr.Element{})},
		"empty input": {},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.RecoverCells(ctx, have); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func seqInts(lo, hi int) []int {
	var v []int
	for i := lo; i < hi; i++ {
		v = append(v, i)
	}
	return v
}

func oddInts() []int {
	var v []int
	for i := 1; i < 128; i += 2 {
		v = append(v, i)
	}
	return v
}
