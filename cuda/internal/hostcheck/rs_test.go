package hostcheck

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// refMulTable builds GF(2^8) products from scratch with polynomial 0x11d:
// powers of 2 (which must run through all 255 non-zero elements, so 0x11d
// is primitive) and logarithms — a different algorithm from gf256.cuh's.
func refMulTable(t *testing.T) []byte {
	var exp [255]byte
	var log [256]int
	seen := map[byte]bool{}
	x := 1
	for i := range exp {
		exp[i] = byte(x)
		log[x] = i
		if seen[byte(x)] {
			t.Fatalf("2^%d = %#x repeats: 0x11d would not be primitive", i, x)
		}
		seen[byte(x)] = true
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11d
		}
	}
	if x != 1 {
		t.Fatalf("2^255 = %#x, want 1", x)
	}
	out := make([]byte, 256*256)
	for a := 1; a < 256; a++ {
		for b := 1; b < 256; b++ {
			out[256*a+b] = exp[(log[a]+log[b])%255]
		}
	}
	return out
}

func TestGFMul(t *testing.T) {
	want := refMulTable(t)
	for name, got := range map[string][]byte{"gf_mul": GFMulTable(), "gf_mul4": GFMul4Table()} {
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s(%#x, %#x) = %#x, want %#x", name, i>>8, i&0xff, got[i], want[i])
			}
		}
	}
}

func TestGFXtime4(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 8))
	in := []uint32{0, 0xffffffff, 0x80808080, 0x7f7f7f7f, 0x01020304, 0x80000001}
	for range 1000 {
		in = append(in, r.Uint32())
	}
	mul := refMulTable(t)
	for i, got := range GFXtime4(in) {
		for b := 0; b < 32; b += 8 {
			if g, w := byte(got>>b), mul[256*2+int(byte(in[i]>>b))]; g != w {
				t.Fatalf("xtime4(%#08x) byte %d = %#x, want %#x", in[i], b/8, g, w)
			}
		}
	}
}

// rsCases are the (k, m) the storage layer may use that the tests cover.
var rsCases = []struct{ k, m int }{{4, 2}, {10, 4}, {3, 1}, {6, 2}}

// newKlauspost is reedsolomon.New with the options storage/codec.go passes.
func newKlauspost(t testing.TB, k, m int) reedsolomon.Encoder {
	t.Helper()
	enc, err := reedsolomon.New(k, m, reedsolomon.WithMaxGoroutines(2))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// klauspostMatrix reads klauspost's m×k parity matrix off its Encode: with
// data shard i the unit vector e_i (byte i = 1), parity j byte i is M[j][i].
func klauspostMatrix(t testing.TB, k, m int) []byte {
	t.Helper()
	shards := make([][]byte, k+m)
	for i := range shards {
		shards[i] = make([]byte, k)
		if i < k {
			shards[i][i] = 1
		}
	}
	if err := newKlauspost(t, k, m).Encode(shards); err != nil {
		t.Fatal(err)
	}
	mat := make([]byte, m*k)
	for j := 0; j < m; j++ {
		copy(mat[j*k:], shards[k+j])
	}
	return mat
}

// TestGFMulKlauspost: klauspost's own products. With data shard i holding
// 0…255 in its i-th block of 256 bytes, parity j's block i is M[j][i]·x
// for every x, which must be gf_mul's row M[j][i]. This pins the field
// (polynomial 0x11d) to klauspost's behaviour, not only to its docs.
func TestGFMulKlauspost(t *testing.T) {
	mul := GFMulTable()
	coeffs := map[byte]bool{}
	for _, c := range append(rsCases, struct{ k, m int }{17, 9}, struct{ k, m int }{32, 32}) {
		k, m := c.k, c.m
		shards := make([][]byte, k+m)
		for i := range shards {
			shards[i] = make([]byte, 256*k)
			if i < k {
				for x := 0; x < 256; x++ {
					shards[i][256*i+x] = byte(x)
				}
			}
		}
		if err := newKlauspost(t, k, m).Encode(shards); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < m; j++ {
			for i := 0; i < k; i++ {
				got := shards[k+j][256*i : 256*i+256]
				c := got[1] // M[j][i]·1
				coeffs[c] = true
				if !bytes.Equal(got, mul[256*int(c):256*int(c)+256]) {
					t.Fatalf("(%d,%d): klauspost's products by %#x differ from gf_mul's", k, m, c)
				}
			}
		}
	}
	if len(coeffs) < 64 {
		t.Fatalf("only %d distinct coefficients checked", len(coeffs))
	}
}

func randShards(r *rand.Rand, k, n int) [][]byte {
	data := make([][]byte, k)
	for i := range data {
		data[i] = make([]byte, n)
		switch i {
		case 1: // zeros
		case 2:
			for p := range data[i] {
				data[i][p] = 0xff
			}
		default:
			for p := range data[i] {
				data[i][p] = byte(r.Uint32())
			}
		}
	}
	return data
}

// TestRSEncodeKlauspost: the kernel's step, fed in chunks as rs.cu feeds
// it, against klauspost's Encode with the matrix read off klauspost.
func TestRSEncodeKlauspost(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 9))
	for _, c := range rsCases {
		mat := klauspostMatrix(t, c.k, c.m)
		enc := newKlauspost(t, c.k, c.m)
		for _, n := range []int{1, 63, 64, 4096 + 7, 1 << 20} {
			widths := []int{4 << 20 / c.k / 16 * 16, 48}
			if n == 1<<20 {
				widths = []int{4 << 20 / c.k / 16 * 16, 4096 + 16}
			}
			for _, w := range widths {
				t.Run(fmt.Sprintf("%d+%d/%d/w=%d", c.k, c.m, n, w), func(t *testing.T) {
					data := randShards(r, c.k, n)
					shards := append(append([][]byte(nil), data...), make([][]byte, c.m)...)
					for j := c.k; j < len(shards); j++ {
						shards[j] = make([]byte, n)
					}
					if err := enc.Encode(shards); err != nil {
						t.Fatal(err)
					}
					got := RSEncode(mat, c.m, data, w)
					for j := range got {
						if p := firstDiff(got[j], shards[c.k+j]); p >= 0 {
							t.Fatalf("parity %d byte %d: %#x, klauspost %#x", j, p, got[j][p], shards[c.k+j][p])
						}
					}
				})
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}
