//go:build !purego

package fp52

import "golang.org/x/sys/cpu"

// hasIFMA reports whether the AVX-512 IFMA assembly runs here; tests clear it
// to exercise the pure-Go path.
var hasIFMA = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512IFMA

//go:noescape
func mulAVX512(z, x, y *Vec, n, ystep int)

//go:noescape
func mulReduceAVX512(z, x, y *Vec, n, ystep int)

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

func mulReduce(z, x, y *Vec, n, ystep int) {
	if hasIFMA {
		mulReduceAVX512(z, x, y, n, ystep)
		return
	}
	mulReduceLoop(z, x, y, n, ystep)
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
