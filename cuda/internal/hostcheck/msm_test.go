package hostcheck

import (
	"math/big"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

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
