//go:build !purego

package fp52

import (
	"unsafe"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/utils/cpu"
)

// hasIFMA reports whether the AVX-512 IFMA assembly runs here (AVX-512F, DQ
// and IFMA, as gnark-crypto detects them for its own IFMA code, which the
// noavx build tag turns off too); tests clear it to exercise the pure-Go
// path.
var hasIFMA = cpu.SupportAVX512IFMA

//go:noescape
func mulAVX512(z, x, y *Vec, n, ystep int)

//go:noescape
func subAVX512(z, a, b *Vec, k *[8]uint64, n int)

//go:noescape
func sub2AVX512(z, a, b, c *Vec, k *[8]uint64, n int)

func mul(z, x, y *Vec, n, ystep int) {
	if hasIFMA {
		mulAVX512(z, x, y, n, ystep)
		return
	}
	mulLoop(z, x, y, n, ystep)
}

func sub(z, a, b *Vec, k *[8]uint64, n int) {
	if hasIFMA {
		subAVX512(z, a, b, k, n)
		return
	}
	subLoop(z, a, b, nil, k, n)
}

func sub2(z, a, b, c *Vec, k *[8]uint64, n int) {
	if hasIFMA {
		sub2AVX512(z, a, b, c, k, n)
		return
	}
	subLoop(z, a, b, c, k, n)
}

//go:noescape
func gatherAVX512(x, y *Vec, p unsafe.Pointer, n int)

//go:noescape
func scatterAVX512(p unsafe.Pointer, x, y *Vec, n int)

func gather(x, y []Vec, p []*bls.G1Affine) {
	if hasIFMA {
		gatherAVX512(&x[0], &y[0], unsafe.Pointer(&p[0]), len(x))
		return
	}
	gatherGeneric(x, y, p)
}

func scatter(p []*bls.G1Affine, x, y []Vec) {
	if hasIFMA {
		scatterAVX512(unsafe.Pointer(&p[0]), &x[0], &y[0], len(x))
		return
	}
	scatterGeneric(p, x, y)
}

//go:noescape
func toGnarkAVX512(z *Vec, n int)

func toGnarkVec(z *Vec, n int) {
	if hasIFMA {
		toGnarkAVX512(z, n)
		return
	}
	mulReduceLoop(z, z, &toGnark, n, 0)
}
