package sampler_test

import (
	"context"
	"errors"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/sampler"
)

func TestConfidence(t *testing.T) {
	if c := sampler.Confidence(16); c < 0.999 || math.Abs(c-(1-math.Pow(0.625, 16))) > 1e-15 {
		t.Fatalf("Confidence(16) = %v", c)
	}
	if sampler.Confidence(0) != 0 || sampler.Confidence(-3) != 0 {
		t.Fatal("no samples must give no confidence")
	}
	for _, tc := range []struct {
		c float64
		n int
	}{{0.999, 15}, {0.5, 2}, {0.375, 1}, {1 - math.Pow(0.625, 30), 30}, {0.999999, 30}} {
		n, err := sampler.SamplesFor(tc.c)
		if err != nil || n != tc.n {
			t.Fatalf("SamplesFor(%v) = %d, %v; want %d", tc.c, n, err, tc.n)
		}
		if sampler.Confidence(n) < tc.c || (n > 1 && sampler.Confidence(n-1) >= tc.c) {
			t.Fatalf("SamplesFor(%v) = %d is not the least", tc.c, n)
		}
	}
	for _, c := range []float64{0, 1, -0.5, 2, math.NaN()} {
		if _, err := sampler.SamplesFor(c); !errors.Is(err, sampler.ErrConfig) {
			t.Fatalf("SamplesFor(%v): %v", c, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := sampler.DefaultConfig().ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*sampler.Config){
		"samples":         func(c *sampler.Config) { c.Samples = 0 },
		"concurrency":     func(c *sampler.Config) { c.Concurrency = 0 },
		"request_timeout": func(c *sampler.Config) { c.RequestTimeout = 0 },
		"dial_timeout":    func(c *sampler.Config) { c.DialTimeout = -1 },
		"retries":         func(c *sampler.Config) { c.Retries = 11 },
		"backoff":         func(c *sampler.Config) { c.Backoff = -1 },
	} {
		c := sampler.DefaultConfig()
		mut(&c)
		err := c.ValidateBasic()
		if !errors.Is(err, sampler.ErrConfig) || !strings.Contains(err.Error(), name) {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := sampler.New(nil, c); !errors.Is(err, sampler.ErrConfig) {
			t.Fatalf("New with bad %s: %v", name, err)
		}
	}
}

// TestThreeEighthsBound checks the claim the confidence rests on
// (docs/spec.md §3.6). By counting, for every D: a withheld pattern that
// stops 2-D decoding misses ≥ 65 cells in each of ≥ 3D + 1 of the N = 4D
// rows, and (3D + 1) · 65 of the 512·D cells is at least 3/8 of the grid.
// With the real decoder, for small D (with and without padding rows):
// withholding 65 cells in each of 3D + 1 dispersed rows stops
// ReconstructBatch, giving back any one of those cells lets it finish, and
// so does withholding one row fewer or one cell fewer per row — the
// pattern is as small as a blocking one gets.
func TestThreeEighthsBound(t *testing.T) {
	for d := 1; d <= da.MaxBatchRows; d++ {
		withheld, grid := (3*d+1)*65, da.ExtensionFactor*d*da.CellsPerRow // grid = 512·D
		if 8*withheld < 3*grid {
			t.Fatalf("D = %d: (3D+1)·65 = %d of %d cells is below 3/8", d, withheld, grid)
		}
	}
	if got := sampler.Confidence(1); got != 3.0/8 {
		t.Fatalf("one sample gives confidence %v, want the bound 3/8", got)
	}

	ctx := context.Background()
	enc, err := encoder.New()
	if err != nil {
		t.Fatal(err)
	}
	ds := []int{1, 2, 3}
	if !testing.Short() {
		ds = append(ds, 4, 5)
	}
	rng := mrand.New(mrand.NewPCG(3, 8))
	for _, d := range ds {
		k, n := da.MatrixRows(d), da.ExtensionFactor*d
		matrix := make([][]fr.Element, k) // rows d … k−1 are padding: zero
		for i := range matrix {
			matrix[i] = make([]fr.Element, encoder.ElementsPerRow)
			for j := range matrix[i] {
				if i < d {
					matrix[i][j].SetRandom()
				}
			}
		}
		ext, err := enc.Extend(ctx, matrix)
		if err != nil {
			t.Fatal(err)
		}
		rows := make([][]fr.Element, n) // the N dispersed rows
		full := make([][][]fr.Element, n)
		for i := range rows {
			rows[i] = ext[da.ExtendedRow(i, d)]
			if full[i], err = enc.Cells(ctx, rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		// Withhold cells 0 … cells−1 of `count` dispersed rows drawn at
		// random, data and parity alike, except one given back.
		order := rng.Perm(n)
		withhold := func(count, cells int, giveBack bool) [][][]fr.Element {
			g := make([][][]fr.Element, n)
			for i := range full {
				g[i] = slices.Clone(full[i])
			}
			for _, i := range order[:count] {
				for c := 0; c < cells; c++ {
					g[i][c] = nil
				}
			}
			if giveBack {
				i := order[0]
				g[i][cells-1] = full[i][cells-1]
			}
			return g
		}
		if _, err := enc.ReconstructBatch(ctx, d, withhold(3*d+1, 65, false)); !errors.Is(err, encoder.ErrUnrecoverable) {
			t.Fatalf("D = %d: (3D+1) × 65 cells withheld: %v, want unrecoverable", d, err)
		}
		for _, tc := range []struct {
			name         string
			count, cells int
			giveBack     bool
		}{
			{"one cell given back", 3*d + 1, 65, true},
			{"3D rows", 3 * d, 65, false},
			{"64 cells per row", 3*d + 1, 64, false},
		} {
			got, err := enc.ReconstructBatch(ctx, d, withhold(tc.count, tc.cells, tc.giveBack))
			if err != nil {
				t.Fatalf("D = %d, %s: %v", d, tc.name, err)
			}
			for i := range got {
				if !slices.EqualFunc(got[i], rows[i], func(a, b fr.Element) bool { return a.Equal(&b) }) {
					t.Fatalf("D = %d, %s: dispersed row %d differs", d, tc.name, i)
				}
			}
		}
	}
}
