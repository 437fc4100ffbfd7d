package hostcheck

/*
#include "hostcheck.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

func init() {
	// g1.cuh's structs mirror gnark's; a layout change there must fail loudly.
	if unsafe.Sizeof(bls12381.G1Jac{}) != 144 || unsafe.Sizeof(bls12381.G1Affine{}) != 96 || unsafe.Sizeof(fp.Element{}) != 48 {
		panic("hostcheck: gnark-crypto G1 layout changed")
	}
}

// FpBinary returns op(a[i], b[i]) in Fp for op in {Add, Sub, Mul}.
func FpBinary(op Op, a, b []fp.Element) []fp.Element {
	if len(a) != len(b) || op > Mul {
		panic(fmt.Sprintf("hostcheck: FpBinary(%d) on %d and %d elements", op, len(a), len(b)))
	}
	out := make([]fp.Element, len(a))
	if len(a) > 0 {
		C.hc_fp_binop(C.int(op), unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), unsafe.Pointer(&out[0]), C.size_t(len(a)))
	}
	return out
}

// FpInverse returns 1/a[i] (0 for 0).
func FpInverse(a []fp.Element) []fp.Element {
	out := make([]fp.Element, len(a))
	if len(a) > 0 {
		C.hc_fp_inverse(unsafe.Pointer(&a[0]), unsafe.Pointer(&out[0]), C.size_t(len(a)))
	}
	return out
}

func g1op(op C.int, p []bls12381.G1Jac, q unsafe.Pointer) []bls12381.G1Affine {
	out := make([]bls12381.G1Affine, len(p))
	if len(p) > 0 {
		C.hc_g1_op(op, unsafe.Pointer(&p[0]), q, unsafe.Pointer(&out[0]), C.size_t(len(p)))
	}
	return out
}

// G1Add returns affine(p[i] + q[i]) computed in Jacobian coordinates.
func G1Add(p, q []bls12381.G1Jac) []bls12381.G1Affine {
	if len(p) != len(q) || len(p) == 0 {
		panic("hostcheck: G1Add lengths")
	}
	return g1op(C.HC_G1_ADD, p, unsafe.Pointer(&q[0]))
}

// G1AddMixed returns affine(p[i] + q[i]) for affine q.
func G1AddMixed(p []bls12381.G1Jac, q []bls12381.G1Affine) []bls12381.G1Affine {
	if len(p) != len(q) || len(p) == 0 {
		panic("hostcheck: G1AddMixed lengths")
	}
	return g1op(C.HC_G1_ADD_MIXED, p, unsafe.Pointer(&q[0]))
}

// G1Double returns affine(2·p[i]).
func G1Double(p []bls12381.G1Jac) []bls12381.G1Affine { return g1op(C.HC_G1_DOUBLE, p, nil) }

// G1ToAffine returns affine(p[i]).
func G1ToAffine(p []bls12381.G1Jac) []bls12381.G1Affine { return g1op(C.HC_G1_TO_AFFINE, p, nil) }
