package kzg

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// batchFixture is a batch matrix of d data rows, its 4K extended rows and
// the data rows' commitments.
type batchFixture struct {
	d, k  int
	comms []Commitment
	ext   [][]fr.Element
}

func newBatchFixture(t testing.TB, rng *rand.Rand, d int) *batchFixture {
	t.Helper()
	data, rows, k := matrix(rng, d)
	comms, err := testContext().CommitRows(context.Background(), data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &batchFixture{d: d, k: k, comms: comms, ext: extendColumns(rows)}
}

func TestVerifyBatchRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	ctx := testContext()
	f := newBatchFixture(t, rng, 5) // K = 8: data 0..4, padding 5..7, parity 8..22, unused 23..31
	var rows []BatchRow
	for _, j := range []int{0, 3, 4, 6, 8, 15, 22, 31} {
		rows = append(rows, BatchRow{Index: j, Row: f.ext[j]})
	}
	bad, checks, err := ctx.VerifyBatchRows(f.comms, f.k, rows)
	if err != nil || bad != nil || checks != 1 {
		t.Fatalf("honest rows: bad %v, %d checks, err %v", bad, checks, err)
	}
	// A parity row swapped for another parity row, a data row with one
	// element changed and a non-zero "padding" row: all three named.
	tampered := slices.Clone(rows)
	tampered[5].Row = f.ext[16]
	changed := slices.Clone(f.ext[3])
	changed[7].SetUint64(9)
	tampered[1].Row = changed
	tampered[3].Row = f.ext[0]
	bad, checks, err = ctx.VerifyBatchRows(f.comms, f.k, tampered)
	if err != nil || !slices.Equal(bad, []int{1, 3, 5}) {
		t.Fatalf("tampered rows: bad %v, err %v", bad, err)
	}
	if checks < 2 || checks > 1+3*3 { // ≤ log2(8) per bad row, plus the first
		t.Fatalf("%d checks for 3 bad rows of 8", checks)
	}
	// Rows of another batch do not verify.
	other := newBatchFixture(t, rng, 5)
	if bad, _, err := ctx.VerifyBatchRows(f.comms, f.k, []BatchRow{{Index: 9, Row: other.ext[9]}}); err != nil || !slices.Equal(bad, []int{0}) {
		t.Fatalf("row of another batch: bad %v, err %v", bad, err)
	}
	if bad, checks, err := ctx.VerifyBatchRows(f.comms, f.k, nil); bad != nil || checks != 0 || err != nil {
		t.Fatalf("no rows: %v %d %v", bad, checks, err)
	}
	for name, tc := range map[string]struct {
		k    int
		rows []BatchRow
	}{
		"index 4K":          {8, []BatchRow{{Index: 32, Row: f.ext[0]}}},
		"negative index":    {8, []BatchRow{{Index: -1, Row: f.ext[0]}}},
		"short row":         {8, []BatchRow{{Index: 0, Row: f.ext[0][:10]}}},
		"K not the least":   {16, rows},
		"K not power of 2":  {6, rows},
		"K smaller than D":  {4, rows},
		"no data, one row?": {0, rows},
	} {
		data := f.comms
		if tc.k == 0 {
			data = nil
			tc.k = 1
		}
		if _, _, err := ctx.VerifyBatchRows(data, tc.k, tc.rows); !errors.Is(err, ErrBadArgument) && !errors.Is(err, ErrRowLength) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	badComm := slices.Clone(f.comms)
	badComm[2] = Commitment{0x80, 1}
	if _, _, err := ctx.VerifyBatchRows(badComm, f.k, rows); !errors.Is(err, ErrInvalidPoint) {
		t.Errorf("invalid commitment: got %v", err)
	}
}

// TestVerifyBatchRowsBisects: one bad row among 256 is named after at most
// 2·log2(256)+1 checks, wherever it is; two bad rows are both named.
func TestVerifyBatchRowsBisects(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	ctx := testContext()
	f := newBatchFixture(t, rng, 3) // K = 4, 16 extended rows, repeated
	const n = 256
	rows := make([]BatchRow, n)
	for i := range rows {
		j := rng.IntN(4 * f.k)
		rows[i] = BatchRow{Index: j, Row: f.ext[j]}
	}
	forged := func(i int) []fr.Element {
		r := slices.Clone(rows[i].Row)
		r[rng.IntN(len(r))].SetUint64(rng.Uint64())
		return r
	}
	positions := []int{0, 1, 127, 128, 200, 255}
	if testing.Short() {
		positions = positions[:3]
	}
	for _, p := range positions {
		t.Run(fmt.Sprintf("bad row %d", p), func(t *testing.T) {
			in := slices.Clone(rows)
			in[p].Row = forged(p)
			bad, checks, err := ctx.VerifyBatchRows(f.comms, f.k, in)
			if err != nil || !slices.Equal(bad, []int{p}) {
				t.Fatalf("bad %v, err %v", bad, err)
			}
			if max := 2*bits.Len(n-1) + 1; checks > max {
				t.Fatalf("%d checks, want ≤ %d", checks, max)
			}
		})
	}
	in := slices.Clone(rows)
	in[17].Row, in[230].Row = forged(17), forged(230)
	if bad, _, err := ctx.VerifyBatchRows(f.comms, f.k, in); err != nil || !slices.Equal(bad, []int{17, 230}) {
		t.Fatalf("two bad rows: bad %v, err %v", bad, err)
	}
}

// TestBisectCounts runs the bisection over synthetic residuals (member t's
// error is 0 when honest, else t+1; a set's residual is the sum): exact
// answers, 1 + ⌈log2 n⌉ checks for one bad member at every position, and
// at most ⌈log2 n⌉ more per further bad member, for sizes that are and are
// not powers of two.
func TestBisectCounts(t *testing.T) {
	run := func(n int, isBad func(int) bool) ([]int, int, error) {
		residual := func(set []int) (int, error) {
			sum := 0
			for _, m := range set {
				if isBad(m) {
					sum += m + 1
				}
			}
			return sum, nil
		}
		return bisect(n, residual, func(a, b int) int { return a - b }, func(a int) bool { return a == 0 })
	}
	for _, n := range []int{1, 2, 3, 7, 100, 256} {
		depth := bits.Len(uint(n - 1))
		for p := 0; p < n; p++ {
			bad, checks, err := run(n, func(m int) bool { return m == p })
			if err != nil || !slices.Equal(bad, []int{p}) || checks > 1+depth {
				t.Fatalf("n=%d bad %d: got %v after %d checks (bound %d), %v", n, p, bad, checks, 1+depth, err)
			}
		}
		if n > 2 {
			p, q := 0, n-1
			bad, checks, err := run(n, func(m int) bool { return m == p || m == q })
			if err != nil || !slices.Equal(bad, []int{p, q}) || checks > 1+2*depth {
				t.Fatalf("n=%d bad %d, %d: got %v after %d checks (bound %d), %v", n, p, q, bad, checks, 1+2*depth, err)
			}
		}
		bad, checks, _ := run(n, func(int) bool { return false })
		if bad != nil || checks != 1 {
			t.Fatalf("n=%d honest: %v after %d checks", n, bad, checks)
		}
		bad, _, _ = run(n, func(int) bool { return true })
		if len(bad) != n {
			t.Fatalf("n=%d all bad: named %d", n, len(bad))
		}
	}
	wantErr := errors.New("boom")
	_, _, err := bisect(4, func([]int) (int, error) { return 0, wantErr }, func(a, b int) int { return a - b }, func(a int) bool { return a == 0 })
	if !errors.Is(err, wantErr) {
		t.Fatalf("check error: %v", err)
	}
}

func TestVerifyRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	ctx := testContext()
	rows := make([][]fr.Element, 9)
	for i := range rows {
		rows[i] = randomRow(rng)
	}
	comms, err := ctx.CommitRows(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bad, err := ctx.VerifyRows(rows, comms); err != nil || bad != nil {
		t.Fatalf("honest: %v %v", bad, err)
	}
	in := slices.Clone(rows)
	in[2], in[8] = rows[3], randomRow(rng)
	if bad, err := ctx.VerifyRows(in, comms); err != nil || !slices.Equal(bad, []int{2, 8}) {
		t.Fatalf("tampered: %v %v", bad, err)
	}
	if _, err := ctx.VerifyRows(rows[:2], comms); !errors.Is(err, ErrBadArgument) {
		t.Fatalf("length mismatch: %v", err)
	}
	if _, err := ctx.VerifyRows([][]fr.Element{rows[0][:3]}, comms[:1]); !errors.Is(err, ErrRowLength) {
		t.Fatalf("short row: %v", err)
	}
}
