// Package rs holds the field arithmetic behind the codec (docs/spec.md §3.4
// Column extension, §3.6 Reconstruction): cached FFT domains over the
// BLS12-381 scalar field, extension of polynomials given in evaluation form
// onto larger domains, and Reed–Solomon erasure decoding by the
// vanishing-polynomial method of EIP-7594 recover_cells.
//
// Conventions follow EIP-4844/7594: evaluations are stored in bit-reversed order
// of the roots of unity, coefficients in natural order. FFTs are gnark-crypto's,
// run single-threaded (nbTasks = 1); callers parallelise over independent
// vectors with their own worker counts.
package rs

import (
	"fmt"
	"math/big"
	"math/bits"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"
)

// MaxLogN bounds the domains this package builds (2^13 = 8192, EIP-7594's
// extended blob).
const MaxLogN = 13

var oneTask = fft.WithNbTasks(1)

// Domain is the multiplicative subgroup H_n of the n-th roots of unity
// (gnark-crypto's fft.Domain, which uses Ethereum's primitive 2^32-th root).
// A Domain is immutable and safe for concurrent use.
type Domain struct {
	N   int
	Log int
	d   *fft.Domain // nil when N == 1
	// Root is a primitive N-th root of unity ω_N.
	Root fr.Element
	// NInv is 1/N.
	NInv fr.Element
}

var domainCache [MaxLogN + 1]struct {
	once sync.Once
	d    *Domain
}

// GetDomain returns the cached domain of size n, a power of two ≤ 2^MaxLogN.
// It panics on any other n: sizes are internal constants, never outside input.
func GetDomain(n int) *Domain {
	if n <= 0 || n&(n-1) != 0 || n > 1<<MaxLogN {
		panic(fmt.Sprintf("rs: bad domain size %d", n))
	}
	lg := bits.TrailingZeros(uint(n))
	c := &domainCache[lg]
	c.once.Do(func() {
		d := &Domain{N: n, Log: lg}
		if n == 1 {
			d.Root.SetOne()
		} else {
			d.d = fft.NewDomain(uint64(n))
			d.Root = d.d.Generator
		}
		d.NInv.SetUint64(uint64(n))
		d.NInv.Inverse(&d.NInv)
		c.d = d
	})
	return c.d
}

// FFT maps natural-order coefficients to bit-reversed evaluations on H_N, in place.
func (d *Domain) FFT(a []fr.Element) {
	if d.d != nil {
		d.d.FFT(a[:d.N], fft.DIF, oneTask)
	}
}

// IFFT maps bit-reversed evaluations on H_N to natural-order coefficients, in place.
func (d *Domain) IFFT(a []fr.Element) {
	d.IFFTUnscaled(a)
	if d.N > 1 {
		v := fr.Vector(a[:d.N])
		v.ScalarMul(v, &d.NInv)
	}
}

// IFFTUnscaled is IFFT times N (the caller folds 1/N into a later scaling).
// It is a forward DIT FFT followed by the index map i ↦ −i mod N, which avoids
// gnark's allocating scaling pass.
func (d *Domain) IFFTUnscaled(a []fr.Element) {
	if d.d == nil {
		return
	}
	a = a[:d.N]
	d.d.FFT(a, fft.DIT, oneTask)
	for i, j := 1, d.N-1; i < j; i, j = i+1, j-1 {
		a[i], a[j] = a[j], a[i]
	}
}

// CosetShift is the shift g of the cosets g·H_N used for division in decoding
// (gnark's default, 7, a generator of Fr*).
func CosetShift() fr.Element { return fft.GeneratorFullMultiplicativeGroup() }

// Reverse returns the bit reversal of i as a logN-bit number.
func Reverse(i, logN int) int {
	if logN == 0 {
		return 0
	}
	return int(bits.Reverse64(uint64(i)) >> (64 - uint(logN)))
}

// RootPow returns ω_n^e for a power of two n.
func RootPow(n int, e int) fr.Element {
	w, err := fr.Generator(uint64(n))
	if err != nil {
		panic(err)
	}
	var r fr.Element
	r.SetOne()
	e %= n
	for ; e > 0; e-- { // e < n ≤ 2^13 and this runs only while building tables
		r.Mul(&r, &w)
	}
	return r
}

// powers returns x^0 … x^(n-1).
func powers(x fr.Element, n int) []fr.Element {
	p := make([]fr.Element, n)
	if n == 0 {
		return p
	}
	p[0].SetOne()
	for i := 1; i < n; i++ {
		p[i].Mul(&p[i-1], &x)
	}
	return p
}

func bigInt(n int) *big.Int { return big.NewInt(int64(n)) }
