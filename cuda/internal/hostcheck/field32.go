package hostcheck

/*
#include "field32.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// MulImpl selects one of the headers' Montgomery multiplications.
type MulImpl int

const (
	// CIOS is field.cuh's 64-bit-limb CIOS, what the host build runs.
	CIOS MulImpl = C.HC_MUL_CIOS
	// Mont32 is mont32.cuh's 32-bit carry-chain schedule, what the device
	// runs, here on the host's emulation of its carry flag.
	Mont32 MulImpl = C.HC_MUL_MONT32
)

func (m MulImpl) String() string {
	if m == Mont32 {
		return "mont32"
	}
	return "cios"
}

func fieldMul(field C.int, impl MulImpl, a, b, out unsafe.Pointer, n int) int {
	return int(C.hc_field_mul(field, C.int(impl), a, b, out, C.size_t(n)))
}

// FpMul returns a[i]·b[i] in Fp by impl, and how many of the products
// dropped a carry that mont32.cuh's bounds say is zero (0 for CIOS).
func FpMul(impl MulImpl, a, b []fp.Element) ([]fp.Element, int) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("hostcheck: FpMul on %d and %d elements", len(a), len(b)))
	}
	out := make([]fp.Element, len(a))
	if len(a) == 0 {
		return out, 0
	}
	return out, fieldMul(C.HC_FIELD_FP, impl, unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), unsafe.Pointer(&out[0]), len(a))
}

// FrMul is FpMul in Fr.
func FrMul(impl MulImpl, a, b []fr.Element) ([]fr.Element, int) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("hostcheck: FrMul on %d and %d elements", len(a), len(b)))
	}
	out := make([]fr.Element, len(a))
	if len(a) == 0 {
		return out, 0
	}
	return out, fieldMul(C.HC_FIELD_FR, impl, unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), unsafe.Pointer(&out[0]), len(a))
}

// FpMulChain sets x ← x·y rounds times with impl (for benchmarks).
func FpMulChain(impl MulImpl, x *fp.Element, y fp.Element, rounds int) {
	C.hc_field_mul_bench(C.HC_FIELD_FP, C.int(impl), unsafe.Pointer(x), unsafe.Pointer(&y), C.size_t(rounds))
}

// FrMulChain sets x ← x·y rounds times with impl (for benchmarks).
func FrMulChain(impl MulImpl, x *fr.Element, y fr.Element, rounds int) {
	C.hc_field_mul_bench(C.HC_FIELD_FR, C.int(impl), unsafe.Pointer(x), unsafe.Pointer(&y), C.size_t(rounds))
}
