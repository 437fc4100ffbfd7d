package kzg

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// matrix returns d random data rows and the K = smallest power of two ≥ d
// matrix rows (the padding rows zero), with K.
func matrix(rng *rand.Rand, d int) (data, rows [][]fr.Element, k int) {
	k = 1
	for k < d {
		k <<= 1
	}
	rows = make([][]fr.Element, k)
	for i := range rows {
		if i < d {
			rows[i] = randomRow(rng)
		} else {
			rows[i] = make([]fr.Element, ScalarsPerRow)
		}
	}
	return rows[:d], rows, k
}

// brp is the bit reversal of i among n = 2^logN indices, written out here
// so that the test does not share the production permutation.
func brp(i, n int) int {
	r := 0
	for b := 1; b < n; b <<= 1 {
		r <<= 1
		if i&b != 0 {
			r |= 1
		}
	}
	return r
}

// lagrangeCommitment is docs/spec.md §3.4 Column extension written out in
// G1, with nothing of the production path: C_j = Σ_{i<D} ℓ_i(x_j)·C_i with
// ℓ_i(x) = x_i·(x^K − 1)/(K·(x − x_i)), x_i = ω_K^brp(i), x_j = ω_4K^brp(j).
func lagrangeCommitment(t testing.TB, data []Commitment, k, j int) Commitment {
	t.Helper()
	wk, err := fr.Generator(uint64(k))
	if err != nil {
		t.Fatal(err)
	}
	w4k, err := fr.Generator(uint64(4 * k))
	if err != nil {
		t.Fatal(err)
	}
	var x, xk, kk fr.Element
	x.Exp(w4k, big.NewInt(int64(brp(j, 4*k))))
	xk.Exp(x, big.NewInt(int64(k)))
	xk.Sub(&xk, new(fr.Element).SetOne())
	kk.SetUint64(uint64(k))
	var sum bls.G1Jac
	for i := range data {
		var xi, l, den fr.Element
		xi.Exp(wk, big.NewInt(int64(brp(i, k))))
		den.Sub(&x, &xi)
		den.Mul(&den, &kk)
		den.Inverse(&den)
		l.Mul(&xi, &xk).Mul(&l, &den)
		var p bls.G1Affine
		if _, err := p.SetBytes(data[i][:]); err != nil {
			t.Fatal(err)
		}
		var li big.Int
		l.BigInt(&li)
		var term bls.G1Affine
		term.ScalarMultiplication(&p, &li)
		var tj bls.G1Jac
		tj.FromAffine(&term)
		sum.AddAssign(&tj)
	}
	var out bls.G1Affine
	out.FromJacobian(&sum)
	return Commitment(out.Bytes())
}

// TestParityCommitments: the derived parity commitments equal go-eth-kzg's
// commitments of the extended rows (computed by the plain extension of
// kzg_test.go) and the plain Lagrange sum in G1.
func TestParityCommitments(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	eth := ethContext(t)
	ds := []int{1, 2, 3, 5}
	if !testing.Short() {
		ds = append(ds, 8, 13)
	}
	for _, d := range ds {
		t.Run(fmt.Sprintf("D=%d", d), func(t *testing.T) {
			data, rows, k := matrix(rng, d)
			comms, err := testContext().CommitRows(context.Background(), data, nil)
			if err != nil {
				t.Fatal(err)
			}
			parity, err := testContext().ParityCommitments(comms, k)
			if err != nil {
				t.Fatal(err)
			}
			if len(parity) != 3*d {
				t.Fatalf("%d parity commitments, want %d", len(parity), 3*d)
			}
			ext := extendColumns(rows)
			for n := range parity {
				j := k + n
				want, err := eth.BlobToKZGCommitment(toBlob(ext[j]), 0)
				if err != nil {
					t.Fatal(err)
				}
				if parity[n] != Commitment(want) {
					t.Fatalf("extended row %d: derived %s, go-eth-kzg on the extended row %x", j, parity[n], want)
				}
				if lc := lagrangeCommitment(t, comms, k, j); parity[n] != lc {
					t.Fatalf("extended row %d: derived %s, Lagrange sum %s", j, parity[n], lc)
				}
			}
		})
	}
}

func TestParityCommitmentsBadArguments(t *testing.T) {
	c := testContext()
	inf := Commitment{0xc0}
	for name, tc := range map[string]struct {
		d, k int
	}{
		"no rows":            {0, 1},
		"K not a power of 2": {3, 3},
		"K below D":          {5, 4},
		"K not the smallest": {3, 8},
		"D over 256":         {257, 512},
	} {
		data := make([]Commitment, tc.d)
		for i := range data {
			data[i] = inf
		}
		if _, err := c.ParityCommitments(data, tc.k); !errors.Is(err, ErrBadArgument) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	bad := []Commitment{inf, {0x80, 5}}
	var pe *PointError
	if _, err := c.ParityCommitments(bad, 2); !errors.Is(err, ErrInvalidPoint) || !errors.As(err, &pe) || pe.Index != 1 {
		t.Errorf("invalid commitment: got %v", err)
	}
}
