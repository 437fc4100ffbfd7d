package hostcheck

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// The device multiplies with mont32.cuh's 32-bit carry chains, the host
// with field.cuh's 64-bit CIOS. These tests run the 32-bit schedule on the
// host (its carry flag emulated) against CIOS and gnark-crypto, limb for
// limb, and require that no carry the schedule drops was ever non-zero.

// limbInt is the integer held by little-endian 64-bit limbs.
func limbInt(l []uint64) *big.Int {
	w := make([]big.Word, len(l))
	for i, v := range l {
		w[i] = big.Word(v)
	}
	return new(big.Int).SetBits(w)
}

func intLimbs(x *big.Int, n int) []uint64 {
	out := make([]uint64, n)
	for i, w := range x.Bits() {
		out[i] = uint64(w)
	}
	return out
}

// montField describes one field for the generic checks: n 64-bit limbs,
// modulus p, R = 2^(64n).
type montField struct {
	n    int
	p    *big.Int
	rInv *big.Int // R^−1 mod p
}

func newMontField(n int, p *big.Int) montField {
	r := new(big.Int).Lsh(big.NewInt(1), uint(64*n))
	return montField{n, p, new(big.Int).ModInverse(r, p)}
}

// edges are limb vectors < p that stress 32- and 64-bit carries and the
// final subtraction: 0, 1, 2, p−1, p−2, (p±1)/2, R mod p and R² mod p (as
// integers and so also as raw limbs of one), 2^k, p − 2^(32k), limbs of
// all-ones 32-bit halves under p's top limb, alternating halves.
func (f montField) edges() [][]uint64 {
	var out []*big.Int
	add := func(x *big.Int) { out = append(out, new(big.Int).Set(x)) }
	one := big.NewInt(1)
	pm1 := new(big.Int).Sub(f.p, one)
	r := new(big.Int).Lsh(one, uint(64*f.n))
	for _, v := range []int64{0, 1, 2, 3} {
		add(big.NewInt(v))
	}
	add(pm1)
	add(new(big.Int).Sub(f.p, big.NewInt(2)))
	add(new(big.Int).Rsh(pm1, 1))
	add(new(big.Int).Rsh(new(big.Int).Add(f.p, one), 1))
	add(new(big.Int).Mod(r, f.p))
	add(new(big.Int).Mod(new(big.Int).Mul(r, r), f.p))
	for k := 31; k < 64*f.n; k += 32 {
		for _, d := range []int{-1, 0, 1} {
			x := new(big.Int).Lsh(one, uint(k+d))
			if x.Cmp(f.p) < 0 {
				add(x)
				add(new(big.Int).Sub(x, one))
			}
			if y := new(big.Int).Sub(f.p, x); y.Sign() > 0 {
				add(y)
			}
		}
	}
	// Every 32-bit half all ones below p's top limb, and the two
	// alternating patterns, each capped under p.
	top := new(big.Int).Lsh(limbInt(intLimbs(f.p, f.n)[f.n-1:]), uint(64*(f.n-1)))
	low := new(big.Int).Sub(new(big.Int).Lsh(one, uint(64*(f.n-1))), one)
	add(new(big.Int).Add(new(big.Int).Sub(top, new(big.Int).Lsh(one, uint(64*(f.n-1)))), low))
	for _, pat := range []uint64{0xffffffff00000000, 0x00000000ffffffff, 0x8000000080000000, 0x7fffffff7fffffff} {
		l := make([]uint64, f.n)
		for i := range l {
			l[i] = pat
		}
		x := limbInt(l)
		x.Mod(x, f.p)
		add(x)
	}
	res := make([][]uint64, len(out))
	for i, x := range out {
		if x.Sign() < 0 || x.Cmp(f.p) >= 0 {
			panic("edge not reduced")
		}
		res[i] = intLimbs(x, f.n)
	}
	return res
}

// random returns limbs < p: uniform, or (one in three) built from 32-bit
// halves drawn from {0, 1, 2^31, 2^32−1, random}, which long carry chains
// need and uniform values rarely give.
func (f montField) random(r *rand.Rand) []uint64 {
	for {
		l := make([]uint64, f.n)
		sparse := r.IntN(3) == 0
		for i := range l {
			if !sparse {
				l[i] = r.Uint64()
				continue
			}
			for h := 0; h < 2; h++ {
				var v uint64
				switch r.IntN(5) {
				case 1:
					v = 1
				case 2:
					v = 1 << 31
				case 3:
					v = 0xffffffff
				case 4:
					v = uint64(r.Uint32())
				}
				l[i] |= v << (32 * h)
			}
		}
		x := limbInt(l)
		if !sparse {
			x.Mod(x, f.p)
		}
		if x.Cmp(f.p) < 0 {
			return intLimbs(x, f.n)
		}
	}
}

// want is a·b·R^−1 mod p.
func (f montField) want(a, b []uint64) *big.Int {
	z := new(big.Int).Mul(limbInt(a), limbInt(b))
	z.Mul(z, f.rInv)
	return z.Mod(z, f.p)
}

// cases returns all edge pairs and n random pairs (half of them against an
// edge), as limb vectors.
func (f montField) cases(r *rand.Rand, n int) (a, b [][]uint64) {
	e := f.edges()
	for _, x := range e {
		for _, y := range e {
			a, b = append(a, x), append(b, y)
		}
	}
	for i := 0; i < n; i++ {
		x, y := f.random(r), f.random(r)
		if i%2 == 1 {
			y = e[r.IntN(len(e))]
		}
		a, b = append(a, x), append(b, y)
	}
	return a, b
}

var (
	fpField = newMontField(fp.Limbs, fp.Modulus())
	frField = newMontField(fr.Limbs, fr.Modulus())
)

func toFp(l [][]uint64) []fp.Element {
	out := make([]fp.Element, len(l))
	for i, v := range l {
		copy(out[i][:], v)
	}
	return out
}

func toFr(l [][]uint64) []fr.Element {
	out := make([]fr.Element, len(l))
	for i, v := range l {
		copy(out[i][:], v)
	}
	return out
}

func TestMont32Fp(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	la, lb := fpField.cases(rng(t), n)
	a, b := toFp(la), toFp(lb)
	got, lost := FpMul(Mont32, a, b)
	cios, _ := FpMul(CIOS, a, b)
	if lost != 0 {
		t.Errorf("mont32 dropped a non-zero carry in %d of %d products", lost, len(a))
	}
	bad := 0
	for i := range a {
		var ref fp.Element
		ref.Mul(&a[i], &b[i])
		if got[i] != ref || cios[i] != ref {
			if bad++; bad <= 5 {
				t.Errorf("fp %x · %x: mont32 %x, cios %x, gnark %x", a[i], b[i], got[i], cios[i], ref)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("fp: %d of %d products differ", bad, len(a))
	}
	t.Logf("fp: %d products (%d edge pairs)", len(a), len(a)-n)
}

func TestMont32Fr(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	la, lb := frField.cases(rng(t), n)
	a, b := toFr(la), toFr(lb)
	got, lost := FrMul(Mont32, a, b)
	cios, _ := FrMul(CIOS, a, b)
	if lost != 0 {
		t.Errorf("mont32 dropped a non-zero carry in %d of %d products", lost, len(a))
	}
	bad := 0
	for i := range a {
		var ref fr.Element
		ref.Mul(&a[i], &b[i])
		if got[i] != ref || cios[i] != ref {
			if bad++; bad <= 5 {
				t.Errorf("fr %x · %x: mont32 %x, cios %x, gnark %x", a[i], b[i], got[i], cios[i], ref)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("fr: %d of %d products differ", bad, len(a))
	}
	t.Logf("fr: %d products (%d edge pairs)", len(a), len(a)-n)
}

// TestMont32Unreduced checks the bounds mont32.cuh states beyond reduced
// elements: any b limbs (up to 2^(64N) − 1) with a < p, and for Fp also a
// just below 2^381 (> p). Results are then only congruent mod p, so they
// are compared with CIOS limb for limb (both compute (a·b + M·p)/R with
// the same M) and with big.Int mod p.
func TestMont32Unreduced(t *testing.T) {
	r := rng(t)
	one := big.NewInt(1)
	for _, f := range []montField{fpField, frField} {
		rMax := new(big.Int).Sub(new(big.Int).Lsh(one, uint(64*f.n)), one)
		var bigB []*big.Int
		bigB = append(bigB, rMax, new(big.Int).Sub(rMax, one), new(big.Int).Set(f.p),
			new(big.Int).Add(f.p, one), new(big.Int).Lsh(f.p, 1))
		var bigA []*big.Int
		for _, e := range f.edges() {
			bigA = append(bigA, limbInt(e))
		}
		if f.n == fp.Limbs {
			two381 := new(big.Int).Lsh(one, 381)
			for _, d := range []int64{1, 2, 1 << 32, 1<<32 + 1} {
				bigA = append(bigA, new(big.Int).Sub(two381, big.NewInt(d)))
				bigB = append(bigB, new(big.Int).Sub(two381, big.NewInt(d)))
			}
			bigA = append(bigA, new(big.Int).Add(f.p, big.NewInt(5)))
		}
		for i := 0; i < 200; i++ {
			x := new(big.Int).Lsh(limbInt([]uint64{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}), 0)
			x.Mod(x, new(big.Int).Add(rMax, one))
			bigB = append(bigB, x)
		}
		var la, lb [][]uint64
		for _, x := range bigA {
			for _, y := range bigB {
				la, lb = append(la, intLimbs(x, f.n)), append(lb, intLimbs(y, f.n))
			}
		}
		var got, cios [][]uint64
		var lost int
		if f.n == fp.Limbs {
			g, l := FpMul(Mont32, toFp(la), toFp(lb))
			c, _ := FpMul(CIOS, toFp(la), toFp(lb))
			for i := range g {
				got, cios = append(got, g[i][:]), append(cios, c[i][:])
			}
			lost = l
		} else {
			g, l := FrMul(Mont32, toFr(la), toFr(lb))
			c, _ := FrMul(CIOS, toFr(la), toFr(lb))
			for i := range g {
				got, cios = append(got, g[i][:]), append(cios, c[i][:])
			}
			lost = l
		}
		if lost != 0 {
			t.Errorf("%d limbs: mont32 dropped a non-zero carry in %d of %d products", f.n, lost, len(la))
		}
		for i := range la {
			w := f.want(la[i], lb[i])
			g := limbInt(got[i])
			if limbInt(cios[i]).Cmp(g) != 0 || new(big.Int).Mod(g, f.p).Cmp(w) != 0 {
				t.Fatalf("%d limbs: %x · %x: mont32 %x, cios %x, want ≡ %x", f.n, la[i], lb[i], got[i], cios[i], w)
			}
		}
	}
}

// TestMont32Chain follows x ← x·y for many rounds with both
// multiplications: every intermediate feeds the next product.
func TestMont32Chain(t *testing.T) {
	const rounds = 100000
	r := rng(t)
	for i := 0; i < 4; i++ {
		x, y := toFp([][]uint64{fpField.random(r)})[0], toFp([][]uint64{fpField.random(r)})[0]
		c, m := x, x
		FpMulChain(CIOS, &c, y, rounds)
		FpMulChain(Mont32, &m, y, rounds)
		if c != m {
			t.Fatalf("fp chain from %x by %x: cios %x, mont32 %x", x, y, c, m)
		}
		u, v := toFr([][]uint64{frField.random(r)})[0], toFr([][]uint64{frField.random(r)})[0]
		cr, mr := u, u
		FrMulChain(CIOS, &cr, v, rounds)
		FrMulChain(Mont32, &mr, v, rounds)
		if cr != mr {
			t.Fatalf("fr chain from %x by %x: cios %x, mont32 %x", u, v, cr, mr)
		}
	}
}

// BenchmarkFieldMul compares the two multiplications on the host (the
// reason the host build keeps CIOS). Bytes are one element per product.
func BenchmarkFieldMul(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, impl := range []MulImpl{CIOS, Mont32} {
		b.Run("fp/"+impl.String(), func(b *testing.B) {
			x, y := toFp([][]uint64{fpField.random(r)})[0], toFp([][]uint64{fpField.random(r)})[0]
			b.SetBytes(fp.Bytes)
			b.ReportAllocs()
			FpMulChain(impl, &x, y, b.N)
		})
		b.Run("fr/"+impl.String(), func(b *testing.B) {
			x, y := toFr([][]uint64{frField.random(r)})[0], toFr([][]uint64{frField.random(r)})[0]
			b.SetBytes(fr.Bytes)
			b.ReportAllocs()
			FrMulChain(impl, &x, y, b.N)
		})
	}
}

// TestMont32LostIsLive feeds Fr products outside mont32.cuh's contract
// (a ≈ 2^256 > 2^256 − r): they must drop carries, and exactly the products
// that do must differ from CIOS, so the zero count the tests above require
// comes from a live counter.
func TestMont32LostIsLive(t *testing.T) {
	r := rng(t)
	var a, b []fr.Element
	for i := 0; i < 1000; i++ {
		a = append(a, fr.Element{^uint64(0) - uint64(r.IntN(1<<20)), ^uint64(0), ^uint64(0), ^uint64(0)})
		b = append(b, fr.Element{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64() | 1<<63})
	}
	diff := 0
	for i := range a {
		g, lost := FrMul(Mont32, a[i:i+1], b[i:i+1])
		c, _ := FrMul(CIOS, a[i:i+1], b[i:i+1])
		if (lost != 0) != (g[0] != c[0]) {
			t.Fatalf("%x · %x: mont32 %x (lost %d), cios %x", a[i], b[i], g[0], lost, c[0])
		}
		if lost != 0 {
			diff++
		}
	}
	if diff == 0 {
		t.Fatal("no out-of-range product dropped a carry")
	}
}
