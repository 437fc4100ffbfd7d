package fp52

import (
	"math/big"
	"math/bits"
	"unsafe"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

// Limbs is the number of 52-bit limbs of an element.
const Limbs = 8

// Lanes is the number of elements in a Vec.
const Lanes = 8

const mask52 = 1<<52 - 1

// Vec holds 8 field elements transposed: Vec[j][k] is limb j (bits 52j to
// 52j+51) of element k. Every limb is below 2^52. An element's integer X
// stands for X·2^-416 mod p (Montgomery form for R = 2^416); it is not
// reduced, only bounded (see the package comment).
type Vec [Limbs][Lanes]uint64

var (
	// consts is p's limbs, k0 = −p⁻¹ mod 2^52, the limb mask, 2^32 − 1
	// and the limbs of 4p, 2p and p, in the order the assembly reads them.
	consts [35]uint64
	// toGnark is 2^384 mod p: a Montgomery multiplication by it maps this
	// package's form (R = 2^416) to gnark-crypto's (R = 2^384), as the
	// pure-Go ToGnark does.
	toGnark Vec
	// one is 1 (2^416 mod p) in every lane.
	one Vec
	// q holds the multiples k·Q, Q = 2^32·p, that Sub adds (q[k−1]).
	q [4][Limbs]uint64
	// pWords is p in 64-bit words.
	pWords [6]uint64
)

func init() {
	p := fp.Modulus()
	split(p, consts[:8])
	for i, w := range p.Bits() {
		pWords[i] = uint64(w)
	}
	r := new(big.Int).Lsh(big.NewInt(1), 52)
	k0 := new(big.Int).ModInverse(new(big.Int).Mod(p, r), r)
	consts[8] = new(big.Int).Sub(r, k0).Uint64()
	consts[9] = mask52
	consts[10] = 1<<32 - 1
	for i, k := range []int64{4, 2, 1} {
		split(new(big.Int).Mul(p, big.NewInt(k)), consts[11+8*i:19+8*i])
	}
	var l [Limbs]uint64
	split(new(big.Int).Mod(new(big.Int).Lsh(big.NewInt(1), 384), p), l[:])
	toGnark.Broadcast(&l)
	split(new(big.Int).Mod(new(big.Int).Lsh(big.NewInt(1), 416), p), l[:])
	one.Broadcast(&l)
	for k := range q {
		v := new(big.Int).Lsh(p, 32)
		split(v.Mul(v, big.NewInt(int64(k+1))), q[k][:])
	}
}

func split(x *big.Int, dst []uint64) {
	m := big.NewInt(mask52)
	v := new(big.Int).Set(x)
	for j := range dst {
		dst[j] = new(big.Int).And(v, m).Uint64()
		v.Rsh(v, 52)
	}
}

// Broadcast sets every lane of v to the element with limbs l.
func (v *Vec) Broadcast(l *[Limbs]uint64) {
	for j := range v {
		for k := range v[j] {
			v[j][k] = l[j]
		}
	}
}

// SetOne sets every lane of v to 1.
func (v *Vec) SetOne() { *v = one }

// Enabled reports whether the AVX-512 IFMA assembly runs on this machine.
// Without it every function here still works, in pure Go, but much slower
// than gnark-crypto's scalar arithmetic: callers should then use that.
func Enabled() bool { return hasIFMA }

// Mul sets z[i] = x[i]·y[i]·2^-416 mod p lane by lane. If x, y < 2^415 the
// result is below x·y/2^416 + p < 2^415. z may alias x or y; the slices have
// the same length.
func Mul(z, x, y []Vec) {
	if len(x) != len(z) || len(y) != len(z) {
		panic("fp52: Mul of slices of different lengths")
	}
	if len(z) > 0 {
		mul(&z[0], &x[0], &y[0], len(z), int(unsafe.Sizeof(Vec{})))
	}
}

// MulBy sets z[i] = x[i]·c·2^-416 mod p, as Mul with every y[i] = c.
func MulBy(z, x []Vec, c *Vec) {
	if len(x) != len(z) {
		panic("fp52: MulBy of slices of different lengths")
	}
	if len(z) > 0 {
		mul(&z[0], &x[0], c, len(z), 0)
	}
}

// Sub sets z[i] = a[i] + k·Q − b[i] (Q = 2^32·p, 1 ≤ k ≤ 4), which the caller
// makes sure is non-negative and below 2^416 (b < k·Q and a + k·Q < 2^416).
// z may alias a or b.
func Sub(z, a, b []Vec, k int) {
	if len(a) != len(z) || len(b) != len(z) {
		panic("fp52: Sub of slices of different lengths")
	}
	if len(z) > 0 {
		sub(&z[0], &a[0], &b[0], &q[k-1], len(z))
	}
}

// Sub2 sets z[i] = a[i] + k·Q − b[i] − c[i], under the same conditions as
// Sub (b + c < k·Q).
func Sub2(z, a, b, c []Vec, k int) {
	if len(a) != len(z) || len(b) != len(z) || len(c) != len(z) {
		panic("fp52: Sub2 of slices of different lengths")
	}
	if len(z) > 0 {
		sub2(&z[0], &a[0], &b[0], &c[0], &q[k-1], len(z))
	}
}

// ToGnark maps every element of v (each below 4Q = 2^34·p) to gnark-crypto's
// Montgomery form, reduced below p, after which Lane returns it: it
// multiplies by 2^-32, by one 32-bit Montgomery reduction step (X + m·p)/2^32
// (below 5p) and three conditional subtractions.
func ToGnark(v []Vec) {
	if len(v) > 0 {
		toGnarkVec(&v[0], len(v))
	}
}

// FromGnark sets lane k of v to e, which is in gnark-crypto's Montgomery form
// (R = 2^384) and so below p: the integer e·2^32 < Q stands for the same
// field element with R = 2^416, so this is only a change of radix.
func (v *Vec) FromGnark(k int, e *fp.Element) {
	// Limb j is bits [52j−32, 52j+20) of e.
	v[0][k] = e[0] << 32 & mask52
	v[1][k] = (e[0]>>20 | e[1]<<44) & mask52
	v[2][k] = e[1] >> 8 & mask52
	v[3][k] = (e[1]>>60 | e[2]<<4) & mask52
	v[4][k] = (e[2]>>48 | e[3]<<16) & mask52
	v[5][k] = (e[3]>>36 | e[4]<<28) & mask52
	v[6][k] = (e[4]>>24 | e[5]<<40) & mask52
	v[7][k] = e[5] >> 12
}

// GatherPoints sets lane k of x[i] and y[i] to the coordinates of *p[8i+k]
// (FromGnark of X and Y); len(p) = 8·len(x) = 8·len(y).
func GatherPoints(x, y []Vec, p []*bls.G1Affine) {
	if len(p) != Lanes*len(x) || len(y) != len(x) {
		panic("fp52: GatherPoints of slices of mismatched lengths")
	}
	if len(x) > 0 {
		gather(x, y, p)
	}
}

// ScatterPoints sets *p[8i+k] to lane k of x[i] and y[i], which ToGnark has
// converted (Lane of each); len(p) = 8·len(x) = 8·len(y). Pointers may
// repeat if their lanes hold the same point.
func ScatterPoints(p []*bls.G1Affine, x, y []Vec) {
	if len(p) != Lanes*len(x) || len(y) != len(x) {
		panic("fp52: ScatterPoints of slices of mismatched lengths")
	}
	if len(x) > 0 {
		scatter(p, x, y)
	}
}

func gatherGeneric(x, y []Vec, p []*bls.G1Affine) {
	for i, q := range p {
		x[i/Lanes].FromGnark(i%Lanes, &q.X)
		y[i/Lanes].FromGnark(i%Lanes, &q.Y)
	}
}

func scatterGeneric(p []*bls.G1Affine, x, y []Vec) {
	for i, q := range p {
		q.X = x[i/Lanes].Lane(i % Lanes)
		q.Y = y[i/Lanes].Lane(i % Lanes)
	}
}

// Lane returns lane k of v, which ToGnark has converted, as a gnark-crypto
// element.
func (v *Vec) Lane(k int) fp.Element {
	t0, t1, t2, t3 := v[0][k], v[1][k], v[2][k], v[3][k]
	t4, t5, t6, t7 := v[4][k], v[5][k], v[6][k], v[7][k]
	return fp.Element{
		t0 | t1<<52,
		t1>>12 | t2<<40,
		t2>>24 | t3<<28,
		t3>>36 | t4<<16,
		t4>>48 | t5<<4 | t6<<56,
		t6>>8 | t7<<44,
	}
}

// mulGeneric is the pure-Go Mul, the same operations as the assembly lane by
// lane, so both give the same limbs.
func mulGeneric(z, x, y *Vec) {
	p := (*[8]uint64)(consts[:8])
	k0 := consts[8]
	for k := 0; k < Lanes; k++ {
		var t [9]uint64
		for i := 0; i < Limbs; i++ {
			a := x[i][k]
			for j := 0; j < 8; j++ {
				hi, lo := mul52(a, y[j][k])
				t[j] += lo
				t[j+1] += hi
			}
			_, m := mul52(t[0], k0)
			for j := 0; j < 8; j++ {
				hi, lo := mul52(m, p[j])
				t[j] += lo
				t[j+1] += hi
			}
			t[1] += t[0] >> 52
			copy(t[:8], t[1:])
			t[8] = 0
		}
		for j := 0; j < 7; j++ {
			t[j+1] += t[j] >> 52
			t[j] &= mask52
		}
		for j := 0; j < 8; j++ {
			z[j][k] = t[j]
		}
	}
}

// mul52 returns the high and low 52 bits of the product of the low 52 bits
// of a and b, as VPMADD52HUQ and VPMADD52LUQ do.
func mul52(a, b uint64) (hi, lo uint64) {
	h, l := bits.Mul64(a&mask52, b&mask52)
	return h<<12 | l>>52, l & mask52
}

// subGeneric sets z = a + k − b − c (c may be nil) lane by lane.
func subGeneric(z, a, b, c *Vec, k *[Limbs]uint64) {
	for l := 0; l < Lanes; l++ {
		var t [Limbs]int64
		for j := range t {
			t[j] = int64(a[j][l] + k[j] - b[j][l])
			if c != nil {
				t[j] -= int64(c[j][l])
			}
		}
		for j := 0; j < Limbs-1; j++ {
			t[j+1] += t[j] >> 52
			t[j] &= mask52
		}
		for j := range t {
			z[j][l] = uint64(t[j])
		}
	}
}

func mulLoop(z, x, y *Vec, n, ystep int) {
	for i := 0; i < n; i++ {
		zi := (*Vec)(unsafe.Add(unsafe.Pointer(z), i*int(unsafe.Sizeof(Vec{}))))
		xi := (*Vec)(unsafe.Add(unsafe.Pointer(x), i*int(unsafe.Sizeof(Vec{}))))
		yi := (*Vec)(unsafe.Add(unsafe.Pointer(y), i*ystep))
		mulGeneric(zi, xi, yi)
	}
}

// mulReduceLoop is mulLoop, then p subtracted from every result ≥ p.
func mulReduceLoop(z, x, y *Vec, n, ystep int) {
	mulLoop(z, x, y, n, ystep)
	p := (*[Limbs]uint64)(consts[:8])
	zs := unsafe.Slice(z, n)
	for i := range zs {
		for l := 0; l < Lanes; l++ {
			var u [Limbs]int64
			var c int64
			for j := range u {
				u[j] = int64(zs[i][j][l]) - int64(p[j]) + c
				c = u[j] >> 52
				if j < Limbs-1 {
					u[j] &= mask52
				}
			}
			if u[Limbs-1] >= 0 {
				for j := range u {
					zs[i][j][l] = uint64(u[j])
				}
			}
		}
	}
}

func subLoop(z, a, b, c *Vec, k *[Limbs]uint64, n int) {
	zs, as, bs := unsafe.Slice(z, n), unsafe.Slice(a, n), unsafe.Slice(b, n)
	for i := range zs {
		var ci *Vec
		if c != nil {
			ci = &unsafe.Slice(c, n)[i]
		}
		subGeneric(&zs[i], &as[i], &bs[i], ci, k)
	}
}
