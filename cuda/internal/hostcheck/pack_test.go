package hostcheck

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
)

// packCase is a blob for TestPackMatchesEncoder.
type packCase struct {
	name string
	blob []byte
}

func packCases(t *testing.T) []packCase {
	r := rng(t)
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	const row = encoder.BytesPerRow
	// Every byte position of an element holding a distinct value: a
	// misplaced byte or limb shows as a wrong element.
	ramp := make([]byte, 3*row-1)
	for i := range ramp {
		ramp[i] = byte(i%31 + 1)
	}
	// 0xff chunks between zero ones: the largest 31-byte values (2^248 − 1,
	// the nearest packing gets to r) next to 0.
	stripes := make([]byte, 2*row)
	for e := 0; e < len(stripes)/31; e += 2 {
		copy(stripes[31*e:31*e+31], bytes.Repeat([]byte{0xff}, 31))
	}
	return []packCase{
		{"one byte", []byte{0x5a}},
		{"one 0xff byte", []byte{0xff}},
		{"30 bytes", random(30)},
		{"31 bytes", random(31)},
		{"32 bytes", random(32)},
		{"all 0xff row", bytes.Repeat([]byte{0xff}, row)},
		{"all 0xff, part-filled", bytes.Repeat([]byte{0xff}, 2*row-17)},
		{"0xff stripes", stripes},
		{"all zero, 3 rows", make([]byte, 3*row)},
		{"ramp", ramp},
		{"random row", random(row)},
		{"random row + 1", random(row + 1)},
		{"random 5 rows, part-filled", random(5*row - 777)},
		{"repeated byte", bytes.Repeat([]byte{0xa3}, 2*row-100)},
	}
}

// TestPackMatchesEncoder: the device's packing kernel (include/pack.cuh,
// run on the host) gives encoder.Pack's rows element for element, in
// fr.Element's Montgomery limbs, for random and edge-case blobs.
func TestPackMatchesEncoder(t *testing.T) {
	for _, tc := range packCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			want, err := encoder.Pack(tc.blob)
			if err != nil {
				t.Fatal(err)
			}
			got := Pack(tc.blob, encoder.ElementsPerRow)
			if len(got) != len(want) {
				t.Fatalf("%d rows, encoder %d", len(got), len(want))
			}
			for i := range want {
				for j := range want[i] {
					if got[i][j] != want[i][j] {
						t.Fatalf("row %d element %d: %x, encoder %x (limbs %v, %v)", i, j,
							got[i][j].Bytes(), want[i][j].Bytes(), [4]uint64(got[i][j]), [4]uint64(want[i][j]))
					}
				}
			}
		})
	}
}

// TestPackElement: single 31-byte chunks against fr.Element's big-endian
// decoding: every single set byte and all 0xff.
func TestPackElement(t *testing.T) {
	check := func(name string, chunk []byte) {
		t.Helper()
		var buf [fr.Bytes]byte
		copy(buf[1:], chunk)
		want, err := fr.BigEndian.Element(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := Pack(chunk, 1)[0][0]; got != want {
			t.Errorf("%s: %x, want %x", name, got.Bytes(), want.Bytes())
		}
	}
	check("all 0xff", bytes.Repeat([]byte{0xff}, 31))
	for j := range 31 {
		c := make([]byte, 31)
		c[j] = 0x80 | byte(j)
		check(fmt.Sprintf("byte %d", j), c)
	}
}
