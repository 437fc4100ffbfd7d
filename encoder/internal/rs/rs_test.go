package rs

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

func randPoly(rng *rand.Rand, k int) []fr.Element {
	p := make([]fr.Element, k)
	for i := range p {
		p[i].SetUint64(rng.Uint64())
		p[i].Mul(&p[i], &p[i])
	}
	return p
}

// evalBitrev evaluates p on H_n directly (Horner), in bit-reversed order.
func evalBitrev(p []fr.Element, n int) []fr.Element {
	d := GetDomain(n)
	out := make([]fr.Element, n)
	for j := range out {
		var x fr.Element
		x.Exp(d.Root, big.NewInt(int64(Reverse(j, d.Log))))
		var acc fr.Element
		for i := len(p) - 1; i >= 0; i-- {
			acc.Mul(&acc, &x).Add(&acc, &p[i])
		}
		out[j] = acc
	}
	return out
}

func TestFFTRoundTripAndOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 2, 8, 64} {
		p := randPoly(rng, n)
		want := evalBitrev(p, n)
		got := append([]fr.Element(nil), p...)
		GetDomain(n).FFT(got)
		for j := range got {
			if !got[j].Equal(&want[j]) {
				t.Fatalf("n=%d: FFT[%d] differs from direct evaluation", n, j)
			}
		}
		GetDomain(n).IFFT(got)
		for i := range got {
			if !got[i].Equal(&p[i]) {
				t.Fatalf("n=%d: IFFT does not invert FFT at %d", n, i)
			}
		}
	}
}

func TestExtenderBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct{ n, f int }{{1, 4}, {4, 4}, {16, 4}, {32, 2}} {
		x := GetExtender(c.n, c.f)
		p := randPoly(rng, c.n)
		want := evalBitrev(p, c.n*c.f)
		for b := 0; b < c.f; b++ {
			blk := make([]fr.Element, c.n)
			x.Block(blk, p, b)
			for i := range blk {
				if !blk[i].Equal(&want[b*c.n+i]) {
					t.Fatalf("%d×%d block %d: element %d wrong", c.n, c.f, b, i)
				}
			}
			x.Interpolate(blk, b)
			for i := range blk {
				if !blk[i].Equal(&p[i]) {
					t.Fatalf("%d×%d block %d: Interpolate does not invert Block", c.n, c.f, b)
				}
			}
		}
	}
}

func TestDecoderRandomPatterns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range []struct{ n, w, k int }{{4, 1, 1}, {16, 1, 4}, {64, 1, 16}, {64, 4, 32}, {256, 8, 128}, {64, 2, 8}} {
		u := c.n / c.w
		for trial := 0; trial < 10; trial++ {
			p := randPoly(rng, c.k)
			evals := evalBitrev(p, c.n)
			maxMissing := (c.n - c.k) / c.w
			missing := rng.Perm(u)[:rng.IntN(maxMissing+1)]
			dec, err := NewDecoder(c.n, c.w, c.k, missing)
			if err != nil {
				t.Fatal(err)
			}
			e := append([]fr.Element(nil), evals...)
			for _, m := range missing {
				for i := m * c.w; i < (m+1)*c.w; i++ {
					e[i].SetUint64(777) // garbage where missing
				}
			}
			got := dec.Decode(e)
			for i := range p {
				if !got[i].Equal(&p[i]) {
					t.Fatalf("%+v missing %v: coefficient %d wrong", c, missing, i)
				}
			}
		}
		if _, err := NewDecoder(c.n, c.w, c.k, make([]int, (c.n-c.k)/c.w+1)); err == nil {
			t.Fatalf("%+v: too many missing accepted", c)
		}
	}
	if _, err := NewDecoder(16, 1, 4, []int{1, 1}); err == nil {
		t.Fatal("repeated unit accepted")
	}
	if _, err := NewDecoder(16, 1, 4, []int{16}); err == nil {
		t.Fatal("unit out of range accepted")
	}
}
