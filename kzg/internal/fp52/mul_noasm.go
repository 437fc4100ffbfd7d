//go:build !amd64 || purego

package fp52

import bls "github.com/consensys/gnark-crypto/ecc/bls12-381"

var hasIFMA = false

func mul(z, x, y *Vec, n, ystep int) { mulLoop(z, x, y, n, ystep) }

func sub(z, a, b *Vec, k *[8]uint64, n int) { subLoop(z, a, b, nil, k, n) }

func sub2(z, a, b, c *Vec, k *[8]uint64, n int) { subLoop(z, a, b, c, k, n) }

func gather(x, y []Vec, p []*bls.G1Affine) { gatherGeneric(x, y, p) }

func scatter(p []*bls.G1Affine, x, y []Vec) { scatterGeneric(p, x, y) }

func toGnarkVec(z *Vec, n int) { mulReduceLoop(z, z, &toGnark, n, 0) }
