package hostcheck

/*
#include "rs.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// GFMulTable returns every product a·b of GF(2^8), at index 256·a + b, as
// gf256.cuh's scalar gf_mul computes it.
func GFMulTable() []byte {
	out := make([]byte, 256*256)
	C.hc_gf_mul_table((*C.uint8_t)(&out[0]))
	return out
}

// GFMul4Table is GFMulTable computed with the packed gf_mul4 the kernel uses.
func GFMul4Table() []byte {
	out := make([]byte, 256*256)
	C.hc_gf_mul4_table((*C.uint8_t)(&out[0]))
	return out
}

// GFXtime4 returns gf_xtime4(in[i]): each packed byte doubled.
func GFXtime4(in []uint32) []uint32 {
	out := make([]uint32, len(in))
	if len(in) > 0 {
		C.hc_gf_xtime4((*C.uint32_t)(&in[0]), (*C.uint32_t)(&out[0]), C.size_t(len(in)))
	}
	return out
}

// aligned returns n zero bytes starting at a 16-byte boundary (the kernel's
// step loads and stores 16 bytes at a time).
func aligned(n int) []byte {
	b := make([]byte, n+16)
	off := int((16 - uintptr(unsafe.Pointer(&b[0]))%16) % 16)
	return b[off : off+n : off+n]
}

// RSEncode returns the m parity shards of the k equal-length data shards
// for the m×k row-major coding matrix, computed by gf256.cuh's rs_step the
// way rs.cu's pipeline feeds it: chunks of at most width columns (a
// multiple of 16), each packed at a stride of its width rounded up to 16.
func RSEncode(matrix []byte, m int, data [][]byte, width int) [][]byte {
	k := len(data)
	if k < 1 || m < 1 || len(matrix) != m*k || width < 16 || width%16 != 0 || len(data[0]) == 0 {
		panic(fmt.Sprintf("hostcheck: RSEncode k=%d m=%d matrix %d bytes width %d", k, m, len(matrix), width))
	}
	n := len(data[0])
	parity := make([][]byte, m)
	for j := range parity {
		parity[j] = make([]byte, n)
	}
	w := min(width, (n+15)/16*16)
	in := aligned(k * w)
	out := aligned(m * w)
	for off := 0; off < n; off += w {
		cols := min(w, n-off)
		stride := (cols + 15) / 16 * 16
		clear(in)
		for i, d := range data {
			if len(d) != n {
				panic("hostcheck: RSEncode shards of different lengths")
			}
			copy(in[i*stride:], d[off:off+cols])
		}
		C.hc_rs_encode((*C.uint8_t)(&matrix[0]), C.uint32_t(k), C.uint32_t(m), (*C.uint8_t)(&in[0]),
			(*C.uint8_t)(&out[0]), C.size_t(stride))
		for j := range parity {
			copy(parity[j][off:off+cols], out[j*stride:j*stride+cols])
		}
	}
	return parity
}
