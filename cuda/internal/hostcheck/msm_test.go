package hostcheck

import (
	"bytes"
	"fmt"
	"math/big"
	"os"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

const setupPoints = 4096

var lagrange = sync.OnceValues(func() ([]bls12381.G1Affine, *MSMTable) {
	pts, err := kzg.Default().LagrangeG1()
	if err != nil {
		panic(err)
	}
	return pts, NewMSMTable(pts)
})

func setupTable(t *testing.T) ([]bls12381.G1Affine, *MSMTable) {
	t.Helper()
	pts, tab := lagrange()
	if len(pts) != setupPoints {
		t.Fatalf("setup has %d Lagrange points, want %d", len(pts), setupPoints)
	}
	return pts, tab
}

// TestMSMTable: T[k·n + i] = 2^(12k)·P_i for a sample of bases and windows.
func TestMSMTable(t *testing.T) {
	pts, tab := setupTable(t)
	for _, i := range []int{0, 1, 2047, 4095} {
		for _, k := range []int{0, 1, 7, tab.Windows() - 1} {
			var want bls12381.G1Affine
			want.ScalarMultiplication(&pts[i], new(big.Int).Lsh(big.NewInt(1), uint(12*k)))
			if got := tab.Entry(k, i); got != want {
				t.Fatalf("table[%d][%d] = %s, want 2^%d·P_%d = %s", k, i, got.String(), 12*k, i, want.String())
			}
		}
	}
}

func msmEdgeRows(t *testing.T) map[string][]fr.Element {
	r := rng(t)
	var one, minusOne fr.Element
	one.SetOne()
	minusOne.Neg(&one)
	row := func(f func(i int) fr.Element) []fr.Element {
		v := make([]fr.Element, setupPoints)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	half := new(big.Int).Rsh(fr.Modulus(), 1) // (r−1)/2: the largest digits
	var h fr.Element
	h.SetBigInt(half)
	same := randElem(r)
	rows := map[string][]fr.Element{
		"zero":           row(func(int) fr.Element { return fr.Element{} }),
		"one":            row(func(int) fr.Element { return one }),
		"minus one":      row(func(int) fr.Element { return minusOne }),
		"half":           row(func(int) fr.Element { return h }),
		"same random":    row(func(int) fr.Element { return same }),
		"single nonzero": row(func(i int) fr.Element { return map[bool]fr.Element{true: same}[i == 1234] }),
		"single one":     row(func(i int) fr.Element { return map[bool]fr.Element{true: one}[i == 4095] }),
		"±1 alternating": row(func(i int) fr.Element { return map[bool]fr.Element{true: one, false: minusOne}[i%2 == 0] }),
		"small":          row(func(i int) fr.Element { var x fr.Element; x.SetUint64(uint64(i)); return x }),
		"2048 multiples": row(func(i int) fr.Element { var x fr.Element; x.SetUint64(uint64(2048 * (i%3 + 1))); return x }),
		"random":         row(func(int) fr.Element { return randElem(r) }),
		"random 2":       row(func(int) fr.Element { return randElem(r) }),
	}
	// p−1, 1, 0 and raw-limb edge values mixed with random ones.
	mixed := row(func(int) fr.Element { return randElem(r) })
	for i := 0; i < setupPoints; i += 5 {
		switch i % 4 {
		case 0:
			mixed[i] = minusOne
		case 1:
			mixed[i] = one
		case 2:
			mixed[i] = fr.Element{}
		}
	}
	rows["mixed edges"] = mixed
	return rows
}

// TestMSMAgainstGnarkAndKZG runs the kernels' plan on the host over the
// Ethereum setup's Lagrange points and compares, byte for byte, with
// gnark-crypto's MultiExp and with kzg.Context.Commit.
func TestMSMAgainstGnarkAndKZG(t *testing.T) {
	pts, tab := setupTable(t)
	cases := msmEdgeRows(t)
	var names []string
	var rows [][]fr.Element
	for name, row := range cases {
		names = append(names, name)
		rows = append(rows, row)
	}
	got := tab.MultiExp(rows) // one batch of all rows, as the device runs them
	for j, name := range names {
		t.Run(name, func(t *testing.T) {
			var want bls12381.G1Affine
			if _, err := want.MultiExp(pts, rows[j], ecc.MultiExpConfig{}); err != nil {
				t.Fatal(err)
			}
			g := got[j].Affine()
			if g != want {
				t.Fatalf("host MSM = %s, gnark MultiExp = %s", g.String(), want.String())
			}
			if (got[j].Infinity != 0) != want.IsInfinity() {
				t.Fatalf("infinity flag %d for %s", got[j].Infinity, want.String())
			}
			if !g.IsInfinity() && !g.IsOnCurve() {
				t.Fatal("result is off the curve")
			}
			c, err := kzg.Default().Commit(rows[j])
			if err != nil {
				t.Fatal(err)
			}
			if kzg.Commitment(g.Bytes()) != c {
				t.Fatalf("compressed %x, kzg.Commit %s", g.Bytes(), c)
			}
		})
	}
	if got[indexOf(names, "zero")].Infinity != 1 {
		t.Error("the zero row must commit to infinity")
	}
}

func indexOf(v []string, s string) int {
	for i := range v {
		if v[i] == s {
			return i
		}
	}
	panic(s)
}

// TestMSMSmallBases: the plan over a few random bases (not the setup), with
// a batch whose rows share buckets' index ranges, against gnark.
func TestMSMSmallBases(t *testing.T) {
	r := rng(t)
	_, aff := g1Points(t, 16)
	aff[3] = bls12381.G1Affine{} // a base at infinity
	aff[5] = aff[4]              // equal bases: doubling inside a bucket
	aff[7].Neg(&aff[6])          // opposite bases: P + (−P) inside a bucket
	tab := NewMSMTable(aff)
	rows := make([][]fr.Element, 5)
	for j := range rows {
		rows[j] = make([]fr.Element, len(aff))
		for i := range rows[j] {
			rows[j][i] = randElem(r)
		}
	}
	rows[1][5] = rows[1][4]
	rows[2][7] = rows[2][6]
	for i := range rows[3] {
		rows[3][i] = rows[3][0]
	}
	got := tab.MultiExp(rows)
	for j := range rows {
		var want bls12381.G1Affine
		if _, err := want.MultiExp(aff, rows[j], ecc.MultiExpConfig{}); err != nil {
			t.Fatal(err)
		}
		if g := got[j].Affine(); g != want {
			t.Fatalf("row %d: host MSM = %s, gnark = %s", j, g.String(), want.String())
		}
	}
}

func TestMSMScalarMul(t *testing.T) {
	r := rng(t)
	_, aff := g1Points(t, 4)
	var minusOne fr.Element
	minusOne.SetOne()
	minusOne.Neg(&minusOne)
	for i, s := range []fr.Element{{}, randElem(r), minusOne, randElem(r)} {
		var want bls12381.G1Affine
		want.ScalarMultiplication(&aff[i], s.BigInt(new(big.Int)))
		if got := ScalarMul(aff[i], s); got != want {
			t.Fatalf("%s·P = %s, want %s", s.String(), got.String(), want.String())
		}
	}
}

// repeatedByteRows packs a blob of size bytes of one value c (docs/spec.md
// §3.1): every full row holds 4096 equal scalars, the worst case for bucket
// balance (each window's entries all land in one bucket, and the byte's
// period sends the windows to a few buckets only).
func repeatedByteRows(t *testing.T, c byte, size int) [][]fr.Element {
	t.Helper()
	rows, err := encoder.Pack(bytes.Repeat([]byte{c}, size))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// checkMSMRows compares each result with gnark-crypto's MultiExp over bases.
func checkMSMRows(t *testing.T, bases []bls12381.G1Affine, rows [][]fr.Element, got []MSMPoint) {
	t.Helper()
	if len(got) != len(rows) {
		t.Fatalf("%d results for %d rows", len(got), len(rows))
	}
	for j := range rows {
		var want bls12381.G1Affine
		if _, err := want.MultiExp(bases, rows[j], ecc.MultiExpConfig{}); err != nil {
			t.Fatal(err)
		}
		if g := got[j].Affine(); g != want || (got[j].Infinity != 0) != want.IsInfinity() {
			t.Fatalf("row %d of %d: host MSM = %s (infinity %d), gnark MultiExp = %s",
				j, len(rows), g.String(), got[j].Infinity, want.String())
		}
	}
}

// TestMSMWorkEqualScalars is the issue #17 bound: a row of equal scalars (a
// blob of one repeated byte) costs at most 2× the point operations of a
// random row, in total and on every phase's longest thread, because long
// buckets are split into chunks and no thread walks a bucket alone.
func TestMSMWorkEqualScalars(t *testing.T) {
	pts, tab := setupTable(t)
	r := rng(t)
	same := randElem(r)
	var one fr.Element
	one.SetOne()
	fill := func(v fr.Element) []fr.Element {
		row := make([]fr.Element, setupPoints)
		for i := range row {
			row[i] = v
		}
		return row
	}
	cases := []struct {
		name string
		row  []fr.Element
	}{
		{"random", randVec(r, setupPoints)},
		{"repeated 0xab", repeatedByteRows(t, 0xab, encoder.BytesPerRow)[0]},
		{"repeated 0xff", repeatedByteRows(t, 0xff, encoder.BytesPerRow)[0]},
		{"repeated 0x01", repeatedByteRows(t, 0x01, encoder.BytesPerRow)[0]},
		{"same random", fill(same)},
		{"all one", fill(one)},
		{"zero", make([]fr.Element, setupPoints)},
	}
	var base MSMWork
	for i, tc := range cases {
		got, w := tab.MultiExpWork([][]fr.Element{tc.row})
		checkMSMRows(t, pts, [][]fr.Element{tc.row}, got)
		t.Logf("%-14s ops %6d (bucket %6d, reduce %5d, combine %3d, finish %2d); longest thread: bucket %2d, reduce %2d, combine %2d, finish %2d; critical %3d",
			tc.name, w.TotalOps(), w.Ops[PhaseBucket], w.Ops[PhaseReduce], w.Ops[PhaseCombine], w.Ops[PhaseFinish],
			w.Chain[PhaseBucket], w.Chain[PhaseReduce], w.Chain[PhaseCombine], w.Chain[PhaseFinish], w.Critical())
		if i == 0 {
			base = w
			if w.Ops[PhaseBucket] < 80000 {
				t.Fatalf("random row: %d bucket additions, want about 22·4096", w.Ops[PhaseBucket])
			}
			continue
		}
		if w.TotalOps() > 2*base.TotalOps() {
			t.Errorf("%s: %d point operations, random %d: more than 2×", tc.name, w.TotalOps(), base.TotalOps())
		}
		for p := range w.Chain {
			if w.Chain[p] > 2*base.Chain[p] {
				t.Errorf("%s: phase %d's longest thread %d operations, random %d: more than 2×", tc.name, p, w.Chain[p], base.Chain[p])
			}
		}
		if w.Critical() > 2*base.Critical() {
			t.Errorf("%s: critical path %d, random %d: more than 2×", tc.name, w.Critical(), base.Critical())
		}
	}
}

// TestMSMBatchShapes: batches of D rows, D not a power of two (v2 blobs have
// exactly R rows), mixing rows of one repeated byte (with a part-filled last
// row), all-zero rows, equal and random scalars, against gnark-crypto. One
// batch of 32 rows is the library's full batch over 4096 points.
func TestMSMBatchShapes(t *testing.T) {
	pts, tab := setupTable(t)
	r := rng(t)
	ds := []int{1, 2, 3, 5, 32}
	if os.Getenv("ZGDA_LONG") != "" {
		ds = append(ds, 256)
	}
	for _, d := range ds {
		t.Run(fmt.Sprintf("D=%d", d), func(t *testing.T) {
			blob := repeatedByteRows(t, byte(0x5a+d), d*encoder.BytesPerRow-1000)
			same := randElem(r)
			rows := make([][]fr.Element, d)
			for j := range rows {
				switch j % 4 {
				case 0:
					rows[j] = blob[j]
				case 1:
					rows[j] = make([]fr.Element, setupPoints)
				case 2:
					rows[j] = randVec(r, setupPoints)
				default:
					rows[j] = make([]fr.Element, setupPoints)
					for i := range rows[j] {
						if i%7 != 0 {
							rows[j][i] = same
						}
					}
				}
			}
			if d > 1 {
				rows[d-1] = blob[d-1] // the last, part-filled row of the blob
			}
			checkMSMRows(t, pts, rows, tab.MultiExp(rows))
		})
	}
}

// TestMSMFewBases: bases counts that are not powers of two (including 1),
// so that tiles, chunks and segments end part-filled, with equal, zero,
// random and ±1 rows, against gnark-crypto.
func TestMSMFewBases(t *testing.T) {
	r := rng(t)
	var one, minusOne fr.Element
	one.SetOne()
	minusOne.Neg(&one)
	for _, n := range []int{1, 2, 3, 5, 12, 100, 1000} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			_, bases := g1Points(t, n)
			tab := NewMSMTable(bases)
			same := randElem(r)
			rows := make([][]fr.Element, 6)
			for j := range rows {
				rows[j] = make([]fr.Element, n)
			}
			for i := 0; i < n; i++ {
				rows[0][i] = same
				rows[2][i] = randElem(r)
				rows[3][i] = minusOne
				rows[4][i] = map[bool]fr.Element{true: one, false: minusOne}[i%2 == 0]
				rows[5][i] = same
			}
			rows[5][n-1] = fr.Element{}
			checkMSMRows(t, bases, rows, tab.MultiExp(rows))
		})
	}
}
