package encoder_test

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
)

// long reports whether heavy cases (K = 256) run: ZGDA_LONG=1 and not -short.
func long() bool { return os.Getenv("ZGDA_LONG") != "" && !testing.Short() }

// testKs are the row counts of the default suite, plus 256 in long mode.
func testKs() []int {
	if long() {
		return []int{1, 2, 4, 16, 256}
	}
	return []int{1, 2, 4, 16}
}

// rMinus1TopLimb keeps random Montgomery limbs below the modulus r.
const rTopLimb = 0x73eda753299d7d48

// randElement returns a uniformly-ish random field element (any value < r is a
// valid Montgomery representation), cheaply.
func randElement(rng *rand.Rand) fr.Element {
	return fr.Element{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64N(rTopLimb)}
}

func randRows(rng *rand.Rand, n, width int) [][]fr.Element {
	rows := make([][]fr.Element, n)
	for i := range rows {
		rows[i] = make([]fr.Element, width)
		for t := range rows[i] {
			rows[i][t] = randElement(rng)
		}
	}
	return rows
}

func newEncoder(t testing.TB) *encoder.Encoder {
	t.Helper()
	e, err := encoder.New(encoder.WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// codeword returns k random data rows extended to 4k rows.
func codeword(t testing.TB, e *encoder.Encoder, rng *rand.Rand, k int) [][]fr.Element {
	t.Helper()
	ext, err := e.Extend(context.Background(), randRows(rng, k, encoder.ElementsPerRow))
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

func equalRows(a, b [][]fr.Element) (int, int, bool) {
	if len(a) != len(b) {
		return -1, -1, false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return i, -1, false
		}
		for t := range a[i] {
			if !a[i][t].Equal(&b[i][t]) {
				return i, t, false
			}
		}
	}
	return 0, 0, true
}

func requireRows(t testing.TB, got, want [][]fr.Element) {
	t.Helper()
	if i, el, ok := equalRows(got, want); !ok {
		t.Fatalf("rows differ at row %d element %d (len %d vs %d)", i, el, len(got), len(want))
	}
}

func bitReverse(i, logN int) int {
	r := 0
	for b := 0; b < logN; b++ {
		r = r<<1 | (i>>b)&1
	}
	return r
}

func log2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	return l
}
