package hostcheck

/*
#include "pack.h"
*/
import "C"

import (
	"unsafe"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// PackBytesPerElement is pack.cuh's kPackBytes.
const PackBytesPerElement = 31

// Pack runs pack.cuh's pack_step, the device's packing kernel, over blob
// cut into rows of n elements: the blob is zero-padded to whole rows here,
// as msm.cu's host glue pads the last row. It returns the rows.
func Pack(blob []byte, n int) [][]fr.Element {
	per := PackBytesPerElement * n
	rows := (len(blob) + per - 1) / per
	if rows == 0 {
		return nil
	}
	padded := make([]byte, rows*per)
	copy(padded, blob)
	flat := make([]fr.Element, rows*n)
	C.hc_pack(unsafe.Pointer(&padded[0]), C.uint32_t(rows), C.uint32_t(n), unsafe.Pointer(&flat[0]))
	out := make([][]fr.Element, rows)
	for i := range out {
		out[i] = flat[i*n : (i+1)*n : (i+1)*n]
	}
	return out
}
