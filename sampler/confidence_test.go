package sampler_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

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

// TestThreeEighthsBound checks the claim the confidence rests on with the
// real decoder: withholding 3K+1 rows × 65 cells (≥ 3/8 of the grid) stops
// reconstruction, and giving back any one of those cells lets it finish.
func TestThreeEighthsBound(t *testing.T) {
	ctx := context.Background()
	enc, err := encoder.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 2, 4} {
		data := make([][]fr.Element, k)
		for i := range data {
			data[i] = make([]fr.Element, encoder.ElementsPerRow)
			for j := range data[i] {
				data[i][j].SetRandom()
			}
		}
		ext, err := enc.Extend(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		full := make([][][]fr.Element, len(ext))
		for j, row := range ext {
			if full[j], err = enc.Cells(ctx, row); err != nil {
				t.Fatal(err)
			}
		}
		withhold := func(giveBack bool) [][][]fr.Element {
			g := make([][][]fr.Element, len(full))
			for j := range full {
				g[j] = append([][]fr.Element(nil), full[j]...)
				if j <= 3*k {
					for c := 0; c <= 64; c++ {
						if !(giveBack && j == 0 && c == 64) {
							g[j][c] = nil
						}
					}
				}
			}
			return g
		}
		if frac := float64((3*k+1)*65) / float64(4*k*128); frac < 3.0/8 {
			t.Fatalf("K=%d: blocking pattern is %.4f of the grid", k, frac)
		}
		if _, err := enc.Reconstruct(ctx, k, withhold(false)); !errors.Is(err, encoder.ErrUnrecoverable) {
			t.Fatalf("K=%d: (3K+1) × 65 cells withheld: %v, want unrecoverable", k, err)
		}
		rows, err := enc.Reconstruct(ctx, k, withhold(true))
		if err != nil {
			t.Fatalf("K=%d: one cell given back: %v", k, err)
		}
		for j := range rows {
			for i := range rows[j] {
				if !rows[j][i].Equal(&ext[j][i]) {
					t.Fatalf("K=%d: row %d element %d differs", k, j, i)
				}
			}
		}
	}
}
