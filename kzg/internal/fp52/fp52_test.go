package fp52

import (
	"math/big"
	mrand "math/rand"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

// paths runs f on the assembly (where it runs here) and on the pure-Go path.
func paths(t *testing.T, f func(t *testing.T)) {
	t.Run("generic", func(t *testing.T) {
		defer setIFMA(setIFMA(false))
		f(t)
	})
	if hasIFMA {
		t.Run("ifma", f)
	}
}

func edgeElements() []fp.Element {
	var zero, one, pm1, two fp.Element
	one.SetOne()
	two.SetUint64(2)
	pm1.Neg(&one)
	return []fp.Element{zero, one, pm1, two}
}

func randomElements(n int) []fp.Element {
	e := make([]fp.Element, n)
	for i := range e {
		e[i].MustSetRandom()
	}
	return e
}

func TestMulMatchesGnark(t *testing.T) {
	paths(t, func(t *testing.T) {
		edge := edgeElements()
		rnd := randomElements(8 * 64)
		var a, b []fp.Element
		for _, x := range edge { // every pair of edge cases
			for _, y := range edge {
				a, b = append(a, x), append(b, y)
			}
		}
		for _, x := range edge { // edge cases against random ones
			for i := 0; i < 8; i++ {
				a, b = append(a, x), append(b, rnd[i])
			}
		}
		a, b = append(a, rnd...), append(b, rnd[8:]...)
		b = append(b, rnd[:8]...)
		n := (len(a) + 7) / 8
		x, y, z := make([]Vec, n), make([]Vec, n), make([]Vec, n)
		for i := range a {
			x[i/8].FromGnark(i%8, &a[i])
			y[i/8].FromGnark(i%8, &b[i])
		}
		Mul(z, x, y)
		zg := append([]Vec(nil), z...)
		ToGnark(zg)
		for i := range a {
			var want fp.Element
			want.Mul(&a[i], &b[i])
			if got := zg[i/8].Lane(i % 8); got != want {
				t.Fatalf("%d: %s·%s = %s, want %s", i, a[i].String(), b[i].String(), got.String(), want.String())
			}
		}
		// A chain of products (each output an input again) stays correct.
		for i := range a {
			var w fp.Element
			w.Mul(&a[i], &b[i])
			w.Mul(&w, &w)
			w.Mul(&w, &b[i])
			a[i] = w
		}
		Mul(z, z, z)
		Mul(z, z, y)
		ToGnark(z)
		for i := range a {
			if got := z[i/8].Lane(i % 8); got != a[i] {
				t.Fatalf("chain %d: got %s, want %s", i, got.String(), a[i].String())
			}
		}
	})
}

// TestMulBounds checks Mul on unreduced inputs up to 2^415 − 1 against
// big.Int: the result is congruent to x·y·2^-416 and below 2^415.
func TestMulBounds(t *testing.T) {
	rr := mrand.New(mrand.NewSource(1))
	p := fp.Modulus()
	rinv := new(big.Int).ModInverse(new(big.Int).Lsh(big.NewInt(1), 416), p)
	bound := new(big.Int).Lsh(big.NewInt(1), 415)
	max := new(big.Int).Sub(bound, big.NewInt(1))
	const n = 16
	vals := make([]*big.Int, 2*8*n)
	for i := range vals {
		switch i % 5 {
		case 0:
			vals[i] = new(big.Int).Set(max)
		case 1:
			vals[i] = new(big.Int).Rand(rr, bound)
		case 2:
			vals[i] = new(big.Int).Sub(max, new(big.Int).Rand(rr, big.NewInt(1<<40)))
		default:
			vals[i] = new(big.Int).Rand(rr, p)
		}
	}
	x, y := make([]Vec, n), make([]Vec, n)
	for i := 0; i < 8*n; i++ {
		setBig(&x[i/8], i%8, vals[i])
		setBig(&y[i/8], i%8, vals[8*n+i])
	}
	paths(t, func(t *testing.T) {
		z := make([]Vec, n)
		Mul(z, x, y)
		for i := 0; i < 8*n; i++ {
			got := getBig(&z[i/8], i%8)
			want := new(big.Int).Mul(vals[i], vals[8*n+i])
			want.Mul(want, rinv).Mod(want, p)
			if got.Cmp(bound) >= 0 || new(big.Int).Mod(got, p).Cmp(want) != 0 {
				t.Fatalf("%d: %x·%x gave %x", i, vals[i], vals[8*n+i], got)
			}
			for j := 0; j < Limbs; j++ {
				if z[i/8][j][i%8] > mask52 {
					t.Fatalf("%d: limb %d not normalized", i, j)
				}
			}
		}
	})
}

func TestAssemblyMatchesGeneric(t *testing.T) {
	if !hasIFMA {
		t.Skip("no AVX-512 IFMA")
	}
	a := randomElements(8 * 32)
	x, y := make([]Vec, 32), make([]Vec, 32)
	for i := range a {
		x[i/8].FromGnark(i%8, &a[i])
		y[(i+5)%256/8].FromGnark((i+5)%8, &a[i])
	}
	z1, z2 := make([]Vec, 32), make([]Vec, 32)
	Mul(z1, x, y)
	mulLoop(&z2[0], &x[0], &y[0], 32, 512)
	for i := range z1 {
		if z1[i] != z2[i] {
			t.Fatalf("vector %d differs", i)
		}
	}
}

func setBig(v *Vec, k int, x *big.Int) {
	var l [Limbs]uint64
	split(x, l[:])
	for j := range l {
		v[j][k] = l[j]
	}
}

func getBig(v *Vec, k int) *big.Int {
	r := new(big.Int)
	for j := Limbs - 1; j >= 0; j-- {
		r.Lsh(r, 52).Or(r, new(big.Int).SetUint64(v[j][k]))
	}
	return r
}

func setIFMA(on bool) bool {
	old := hasIFMA
	hasIFMA = on
	return old
}

func BenchmarkMul(b *testing.B) {
	const n = 64 // vectors, 512 products
	a := randomElements(8 * n)
	c := randomElements(8 * n)
	x, y, z := make([]Vec, n), make([]Vec, n), make([]Vec, n)
	for i := range a {
		x[i/8].FromGnark(i%8, &a[i])
		y[i/8].FromGnark(i%8, &c[i])
	}
	b.Run("gnark", func(b *testing.B) {
		b.ReportAllocs()
		r := make([]fp.Element, 8*n)
		for b.Loop() {
			for i := range r {
				r[i].Mul(&a[i], &c[i])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8*n), "ns/mul")
	})
	b.Run("gnark/chain", func(b *testing.B) {
		b.ReportAllocs()
		r := make([]fp.Element, 8*n)
		copy(r, a)
		for b.Loop() {
			for i := range r {
				r[i].Mul(&r[i], &c[i])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8*n), "ns/mul")
	})
	for _, path := range []string{"ifma", "generic"} {
		if path == "ifma" && !hasIFMA {
			continue
		}
		b.Run(path, func(b *testing.B) {
			defer setIFMA(setIFMA(path == "ifma"))
			b.ReportAllocs()
			for b.Loop() {
				Mul(z, x, y)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8*n), "ns/mul")
		})
		b.Run(path+"/inplace", func(b *testing.B) {
			defer setIFMA(setIFMA(path == "ifma"))
			b.ReportAllocs()
			copy(z, x)
			for b.Loop() {
				Mul(z, z, y)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8*n), "ns/mul")
		})
	}
	b.Run("fromGnark", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range a {
				x[i/8].FromGnark(i%8, &a[i])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8*n), "ns/elem")
	})
	b.Run("toGnarkOnly", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ToGnark(z)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8*n), "ns/elem")
	})
	b.Run("toGnark", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ToGnark(z)
			for i := range a {
				a[i] = z[i/8].Lane(i % 8)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8*n), "ns/elem")
	})
}

// TestSub checks Sub and Sub2 against big.Int at the bounds they allow.
func TestSub(t *testing.T) {
	rr := mrand.New(mrand.NewSource(3))
	p := fp.Modulus()
	Q := new(big.Int).Lsh(p, 32)
	paths(t, func(t *testing.T) {
		for k := 1; k <= 4; k++ {
			kQ := new(big.Int).Mul(Q, big.NewInt(int64(k)))
			top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 416), kQ) // a < 2^416 − kQ
			n := 4
			a, b, c := make([]Vec, n), make([]Vec, n), make([]Vec, n)
			av, bv, cv := make([]*big.Int, 8*n), make([]*big.Int, 8*n), make([]*big.Int, 8*n)
			for i := range av {
				switch i % 4 {
				case 0: // extremes: a maximal, b + c = kQ − 1
					av[i] = new(big.Int).Sub(top, big.NewInt(1))
					bv[i] = new(big.Int).Sub(kQ, big.NewInt(1))
					cv[i] = new(big.Int)
				case 1: // a = 0, b + c maximal
					av[i] = new(big.Int)
					bv[i] = new(big.Int).Rsh(kQ, 1)
					cv[i] = new(big.Int).Sub(new(big.Int).Sub(kQ, bv[i]), big.NewInt(1))
				default:
					av[i] = new(big.Int).Rand(rr, top)
					bv[i] = new(big.Int).Rand(rr, new(big.Int).Rsh(kQ, 1))
					cv[i] = new(big.Int).Rand(rr, new(big.Int).Rsh(kQ, 1))
				}
				setBig(&a[i/8], i%8, av[i])
				setBig(&b[i/8], i%8, bv[i])
				setBig(&c[i/8], i%8, cv[i])
			}
			z, z2 := make([]Vec, n), make([]Vec, n)
			Sub(z, a, b, k)
			Sub2(z2, a, b, c, k)
			for i := range av {
				want := new(big.Int).Add(av[i], kQ)
				want.Sub(want, bv[i])
				if got := getBig(&z[i/8], i%8); got.Cmp(want) != 0 {
					t.Fatalf("k=%d %d: Sub gave %x, want %x", k, i, got, want)
				}
				want.Sub(want, cv[i])
				if got := getBig(&z2[i/8], i%8); got.Cmp(want) != 0 {
					t.Fatalf("k=%d %d: Sub2 gave %x, want %x", k, i, got, want)
				}
			}
		}
	})
}

// TestGatherScatter round-trips points through GatherPoints, a
// multiplication by one and ScatterPoints, with a repeated pointer.
func TestGatherScatter(t *testing.T) {
	paths(t, func(t *testing.T) {
		const n = 3
		e := randomElements(2 * 8 * n)
		edge := edgeElements()
		copy(e, edge)
		copy(e[8*n:], edge)
		pts := make([]bls.G1Affine, 8*n)
		p := make([]*bls.G1Affine, 8*n)
		for i := range pts {
			pts[i] = bls.G1Affine{X: e[i], Y: e[8*n+i]}
			p[i] = &pts[i]
		}
		p[8*n-1] = p[0] // a padded lane: the same point again
		x, y := make([]Vec, n), make([]Vec, n)
		GatherPoints(x, y, p)
		for i := range p {
			var w Vec
			w.FromGnark(i%8, &p[i].X)
			for j := range w {
				if x[i/8][j][i%8] != w[j][i%8] {
					t.Fatalf("point %d: gathered X differs from FromGnark", i)
				}
			}
		}
		ones := make([]Vec, n)
		for i := range ones {
			ones[i].SetOne()
		}
		Mul(x, x, ones)
		Mul(y, y, ones)
		ToGnark(x)
		ToGnark(y)
		for i := range pts {
			pts[i] = bls.G1Affine{}
		}
		ScatterPoints(p, x, y)
		for i := 0; i < 8*n-1; i++ {
			if pts[i].X != e[i] || pts[i].Y != e[8*n+i] {
				t.Fatalf("point %d: round trip changed it", i)
			}
		}
	})
}

// TestToGnarkBounds checks ToGnark on inputs up to 4Q − 1 against big.Int:
// Lane's integer is X·2^-32 mod p.
func TestToGnarkBounds(t *testing.T) {
	rr := mrand.New(mrand.NewSource(4))
	p := fp.Modulus()
	Q4 := new(big.Int).Lsh(p, 34)
	inv32 := new(big.Int).ModInverse(new(big.Int).Lsh(big.NewInt(1), 32), p)
	const n = 8
	vals := make([]*big.Int, 8*n)
	for i := range vals {
		switch i {
		case 0:
			vals[i] = new(big.Int)
		case 1:
			vals[i] = new(big.Int).Sub(Q4, big.NewInt(1))
		case 2:
			vals[i] = new(big.Int).Set(p)
		case 3:
			vals[i] = new(big.Int).Lsh(p, 32)
		case 4:
			vals[i] = new(big.Int).Sub(new(big.Int).Lsh(p, 33), big.NewInt(1))
		default:
			vals[i] = new(big.Int).Rand(rr, Q4)
		}
	}
	paths(t, func(t *testing.T) {
		v := make([]Vec, n)
		for i, x := range vals {
			setBig(&v[i/8], i%8, x)
		}
		ToGnark(v)
		for i, x := range vals {
			e := v[i/8].Lane(i % 8)
			var got big.Int
			for w := 5; w >= 0; w-- {
				got.Lsh(&got, 64).Or(&got, new(big.Int).SetUint64(e[w]))
			}
			want := new(big.Int).Mul(x, inv32)
			want.Mod(want, p)
			if got.Cmp(want) != 0 {
				t.Fatalf("%d: ToGnark(%x) = %x, want %x", i, x, &got, want)
			}
		}
	})
}
