package signer

import (
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// DA node slice verification (docs/spec.md §4). VerifyRows/batch is what a
// node runs on a dispersal request: one random linear combination of all
// rows, one 4096-point MSM, one len(rows)-point MSM — nearly flat in the
// number of rows. VerifyRows/per-row commits to every row instead (one
// 4096-point MSM each), the cost the batch check avoids.

func benchRows(b *testing.B, n int) ([][]fr.Element, []kzg.Commitment) {
	b.Helper()
	rows := make([][]fr.Element, n)
	for i := range rows {
		rows[i] = make([]fr.Element, kzg.ScalarsPerRow)
		for j := range rows[i] {
			rows[i][j].SetRandom()
		}
	}
	comms, err := kzg.Default().CommitRows(b.Context(), rows, nil)
	if err != nil {
		b.Fatal(err)
	}
	return rows, comms
}

func BenchmarkVerifyRows(b *testing.B) {
	ctx := kzg.Default()
	if err := ctx.Warm(); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 8, 64} {
		rows, comms := benchRows(b, n)
		b.Run(fmt.Sprintf("batch/%drows", n), func(b *testing.B) {
			b.SetBytes(int64(n * kzg.ScalarsPerRow * kzg.BytesPerScalar))
			b.ReportAllocs()
			for b.Loop() {
				bad, err := ctx.VerifyRows(rows, comms)
				if err != nil || bad != nil {
					b.Fatal(err, bad)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n)/1e6, "ms/row")
		})
		b.Run(fmt.Sprintf("per-row/%drows", n), func(b *testing.B) {
			b.SetBytes(int64(n * kzg.ScalarsPerRow * kzg.BytesPerScalar))
			b.ReportAllocs()
			for b.Loop() {
				for i, r := range rows {
					c, err := ctx.Commit(r)
					if err != nil || c != comms[i] {
						b.Fatal("row does not verify", err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n)/1e6, "ms/row")
		})
	}
}

// BenchmarkVerifyExtendedRows is the check the node runs: rows of an
// batch (D = K = 16; parity rows included) against the blob's data
// commitments, with no derived commitment.
func BenchmarkVerifyBatchRows(b *testing.B) {
	ctx := kzg.Default()
	if err := ctx.Warm(); err != nil {
		b.Fatal(err)
	}
	e, err := encoder.New()
	if err != nil {
		b.Fatal(err)
	}
	blob := make([]byte, 16*encoder.BytesPerRow)
	for i := range blob {
		blob[i] = byte(i * 31)
	}
	enc, err := e.EncodeBlob(b.Context(), ctx, blob, nil)
	if err != nil {
		b.Fatal(err)
	}
	data := enc.Commitments[:enc.D]
	for _, n := range []int{1, 8, 64} {
		rows := make([]kzg.BatchRow, n)
		for t := range rows {
			j := (t*7 + 17) % enc.N // mostly parity rows
			rows[t] = kzg.BatchRow{Index: da.ExtendedRow(j, enc.D), Row: enc.Rows[j]}
		}
		b.Run(fmt.Sprintf("batch/%drows", n), func(b *testing.B) {
			b.SetBytes(int64(n * kzg.ScalarsPerRow * kzg.BytesPerScalar))
			b.ReportAllocs()
			for b.Loop() {
				bad, _, err := ctx.VerifyBatchRows(data, enc.K, rows)
				if err != nil || bad != nil {
					b.Fatal(err, bad)
				}
			}
		})
	}
}
