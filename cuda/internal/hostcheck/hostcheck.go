// Package hostcheck runs the arithmetic and NTT plans of cuda/include — the
// code the CUDA kernels execute — on the host, so that ordinary tests can
// compare them byte for byte with gnark-crypto and with the encoder's CPU
// backend on machines without a GPU or nvcc.
//
// It is test support: nothing in the binary imports it. The C++ side is
// hostcheck.cc, compiled by cgo with g++.
package hostcheck

/*
#cgo CXXFLAGS: -std=c++17 -O2 -I${SRCDIR}/../../include
#include "hostcheck.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	// Rebuild this package's C++ when a header changes (see package include).
	_ "github.com/zgda/zgda/cuda/include"
)

// Op selects an element-wise operation.
type Op int

// Binary and unary operations, in hostcheck.h's order.
const (
	Add Op = iota
	Sub
	Mul
	Sqr
	Neg
	Inverse
	ToMont   // canonical limbs → Montgomery form
	FromMont // Montgomery form → canonical limbs
)

// TwiddleCount is the size of the twiddle table (powers of ω_8192).
const TwiddleCount = 8192

func ptr(v []fr.Element) unsafe.Pointer {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Pointer(&v[0])
}

// Binary returns op(a[i], b[i]) for op in {Add, Sub, Mul}.
func Binary(op Op, a, b []fr.Element) []fr.Element {
	if len(a) != len(b) || op > Mul {
		panic(fmt.Sprintf("hostcheck: Binary(%d) on %d and %d elements", op, len(a), len(b)))
	}
	out := make([]fr.Element, len(a))
	C.hc_fr_binop(C.int(op), ptr(a), ptr(b), ptr(out), C.size_t(len(a)))
	return out
}

// Unary returns op(a[i]) for op in {Sqr, Neg, Inverse, ToMont, FromMont}.
func Unary(op Op, a []fr.Element) []fr.Element {
	if op < Sqr {
		panic(fmt.Sprintf("hostcheck: Unary(%d)", op))
	}
	out := make([]fr.Element, len(a))
	C.hc_fr_unop(C.int(op-Sqr), ptr(a), ptr(out), C.size_t(len(a)))
	return out
}

// Pow returns a^e, e given as little-endian 64-bit limbs.
func Pow(a fr.Element, e []uint64) fr.Element {
	var out fr.Element
	var ep *C.uint64_t
	if len(e) > 0 {
		ep = (*C.uint64_t)(unsafe.Pointer(&e[0]))
	}
	C.hc_fr_pow(unsafe.Pointer(&a), ep, C.int(len(e)), unsafe.Pointer(&out))
	return out
}

// FromUint64 returns v as a field element.
func FromUint64(v uint64) fr.Element {
	var out fr.Element
	C.hc_fr_from_u64(C.uint64_t(v), unsafe.Pointer(&out))
	return out
}

// RootOfUnity returns the headers' ω_{2^logN}.
func RootOfUnity(logN uint) fr.Element {
	var out fr.Element
	C.hc_root_of_unity(C.uint(logN), unsafe.Pointer(&out))
	return out
}

// Twiddles returns the table ω_8192^i, i < 8192, the kernels upload.
func Twiddles() []fr.Element {
	out := make([]fr.Element, TwiddleCount)
	C.hc_twiddles(ptr(out))
	return out
}

// Layout mirrors the headers' Layout: count vectors of 2^LogN elements,
// element i of vector v at v·VecStride + i·ElemStride.
type Layout struct {
	LogN                  uint
	Count                 int
	ElemStride, VecStride int
}

func (l Layout) check(n int) {
	last := (l.Count-1)*l.VecStride + ((1<<l.LogN)-1)*l.ElemStride
	if l.Count <= 0 || l.LogN > 13 || last >= n {
		panic(fmt.Sprintf("hostcheck: layout %+v outside %d elements", l, n))
	}
}

// NTTInverse maps bit-reversed evaluations to natural coefficients in place.
func NTTInverse(a []fr.Element, l Layout) {
	l.check(len(a))
	C.hc_ntt_inverse(ptr(a), C.uint(l.LogN), C.uint32_t(l.Count), C.uint64_t(l.ElemStride), C.uint64_t(l.VecStride))
}

// NTTForward maps natural coefficients to bit-reversed evaluations in place.
func NTTForward(a []fr.Element, l Layout) {
	l.check(len(a))
	C.hc_ntt_forward(ptr(a), C.uint(l.LogN), C.uint32_t(l.Count), C.uint64_t(l.ElemStride), C.uint64_t(l.VecStride))
}

const rowLen = 4096

func logOf(k int) uint {
	l := uint(0)
	for 1<<l < k {
		l++
	}
	if 1<<l != k {
		panic(fmt.Sprintf("hostcheck: %d is not a power of two", k))
	}
	return l
}

// ColumnTileWidth is how many adjacent columns of a K-row matrix one block
// of the fused column kernel holds (kColTile/K): a chunk width must be a
// multiple of it.
func ColumnTileWidth(k int) int { return 512 / k }

// ExtendColumns runs the fused column-extension tiles (the kernel's code)
// over data, the d ≤ K data rows of a K-row matrix whose other rows are
// zero, in chunks of width adjacent columns as the library batches them,
// and returns extended rows K … K+nout−1 (nout ≤ 3K). With reversed, the
// threads of each phase run last to first (a missing barrier shows).
func ExtendColumns(data [][]fr.Element, k, width, nout int, reversed bool) [][]fr.Element {
	d := len(data)
	lk := logOf(k)
	if d < 1 || d > k || width <= 0 || rowLen%width != 0 || width%ColumnTileWidth(k) != 0 || nout < 1 || nout > 3*k {
		panic(fmt.Sprintf("hostcheck: ExtendColumns d=%d K=%d width=%d nout=%d", d, k, width, nout))
	}
	out := make([][]fr.Element, nout)
	for j := range out {
		out[j] = make([]fr.Element, rowLen)
	}
	rev := 0
	if reversed {
		rev = 1
	}
	in := make([]fr.Element, d*width)
	ext := make([]fr.Element, nout*width)
	for c0 := 0; c0 < rowLen; c0 += width {
		for i := 0; i < d; i++ {
			copy(in[i*width:(i+1)*width], data[i][c0:c0+width])
		}
		C.hc_extend_columns(ptr(in), ptr(ext), C.uint(lk), C.uint32_t(d), C.uint32_t(width), C.uint32_t(nout), C.int(rev))
		for r := 0; r < nout; r++ {
			copy(out[r][c0:c0+width], ext[r*width:(r+1)*width])
		}
	}
	return out
}

// ExtendRows runs the row-extension plan and returns each row's 8192
// EIP-7594 evaluations.
func ExtendRows(rows [][]fr.Element) [][]fr.Element {
	n := len(rows)
	in := make([]fr.Element, n*rowLen)
	hi := make([]fr.Element, n*rowLen)
	for i, r := range rows {
		copy(in[i*rowLen:], r[:rowLen])
	}
	if n > 0 {
		C.hc_extend_rows(ptr(in), ptr(hi), C.uint32_t(n))
	}
	out := make([][]fr.Element, n)
	for i := range out {
		out[i] = make([]fr.Element, 2*rowLen)
		copy(out[i], rows[i])
		copy(out[i][rowLen:], hi[i*rowLen:(i+1)*rowLen])
	}
	return out
}
