// Package fp52 multiplies BLS12-381 base-field elements 8 at a time with
// AVX-512 IFMA (VPMADD52LUQ/VPMADD52HUQ), for the batched affine additions
// of the fixed-base MSM (kzg/internal/msm).
//
// Model. A Vec holds 8 elements transposed (limb j of the 8 elements in one
// 512-bit register) in radix 2^52, 8 limbs: 416 bits. Elements are in
// Montgomery form for R = 2^416 and lazily reduced: Mul of operands below
// 2^415 returns a result below 2^414 + p, never more, so products chain
// without a final subtraction. Sub and Sub2 subtract by adding a multiple of
// Q = 2^32·p; the caller keeps the bounds each documents (msm's addition
// formulas state theirs). FromGnark (and GatherPoints, 8 points at a
// time) is a change of radix only: gnark-crypto's Montgomery integer
// a·2^384 mod p (< p), shifted by 32 bits, is a·2^416 — this package's form
// of a — and is below Q. ToGnark divides by 2^32 (one 32-bit Montgomery
// reduction step) and reduces below p, after which Lane (and ScatterPoints)
// return gnark-crypto's element. Results are exact; only their
// representation is lazy.
//
// Switches. The assembly (mul_amd64.s, written by gen_amd64.go) runs when
// the CPU has AVX-512 IFMA (gnark-crypto's utils/cpu.SupportAVX512IFMA) and
// neither the purego nor the noavx build tag is set; Enabled reports it.
// Otherwise every function runs in pure Go with bit-identical results,
// several times slower than gnark-crypto's scalar multiplication: callers
// use the vector path only when Enabled, and tests run both. gnark-crypto
// has IFMA code for fr, not for BLS12-381's fp; this package is the fp
// counterpart the MSM needs.
//
// Errors. None: mismatched slice lengths are a broken invariant and panic.
package fp52

//go:generate sh -c "go run gen_amd64.go > mul_amd64.s"
