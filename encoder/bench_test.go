package encoder_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
)

var benchSizes = []struct {
	name  string
	bytes int
}{
	{"128KiB", 128 << 10},
	{"1MiB", 1 << 20},
	{"8MiB", 8 << 20},
	{"31MiB", encoder.MaxBlobSize},
}

func benchBlob(b *testing.B, n int) [][]fr.Element {
	b.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	blob := make([]byte, n)
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	rows, err := encoder.Pack(blob)
	if err != nil {
		b.Fatal(err)
	}
	return rows
}

// kFor is the matrix height K of a batch holding one blob of n bytes.
func kFor(n int) int {
	p, _ := encoder.ParamsFor(n)
	k := 1
	for k < p.Rows {
		k <<= 1
	}
	return k
}

func BenchmarkPack(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			blob := make([]byte, s.bytes)
			p, _ := encoder.ParamsFor(s.bytes)
			rows := make([][]fr.Element, p.Rows)
			for i := range rows {
				rows[i] = make([]fr.Element, encoder.ElementsPerRow)
			}
			b.SetBytes(int64(s.bytes))
			b.ReportAllocs()
			for b.Loop() {
				if err := encoder.PackInto(blob, rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExtend is the column extension ×4 of a blob's batch matrix as
// EncodeBatch runs it: the R data rows padded to K with one zero row, only
// the 3R parity rows computed (payload bytes/s).
func BenchmarkExtend(b *testing.B) {
	ctx := context.Background()
	be := encoder.NewCPUBackend(0)
	for _, s := range benchSizes {
		b.Run(s.name+"/cpu", func(b *testing.B) {
			data := benchBlob(b, s.bytes)
			d := len(data)
			k := 1
			for k < d {
				k <<= 1
			}
			matrix := append([][]fr.Element{}, data...)
			zero := make([]fr.Element, encoder.ElementsPerRow)
			for len(matrix) < k {
				matrix = append(matrix, zero)
			}
			out := make([][]fr.Element, 4*k)
			for j := k; j < k+3*d; j++ {
				out[j] = make([]fr.Element, encoder.ElementsPerRow)
			}
			b.SetBytes(int64(s.bytes))
			b.ReportAllocs()
			for b.Loop() {
				if err := be.ExtendColumns(ctx, matrix, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecoverRows recovers all 4K rows from rows 3, 7, 11, … (K rows that
// fill no block: the general erasure-decoding path).
func BenchmarkRecoverRows(b *testing.B) {
	ctx := context.Background()
	e, err := encoder.New()
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range benchSizes {
		b.Run(s.name+"/cpu", func(b *testing.B) {
			ext := codeword(b, e, rand.New(rand.NewPCG(uint64(s.bytes), 3)), kFor(s.bytes))
			k := len(ext) / 4
			have := map[int][]fr.Element{}
			for j := 3; j < 4*k; j += 4 {
				have[j] = ext[j]
			}
			b.SetBytes(int64(s.bytes))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.RecoverRows(ctx, k, have); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCells is one row's EIP-7594 extension (compare go-eth-kzg ComputeCells).
func BenchmarkCells(b *testing.B) {
	ctx := context.Background()
	e, err := encoder.New(encoder.WithWorkers(1))
	if err != nil {
		b.Fatal(err)
	}
	row := randRows(rand.New(rand.NewPCG(1, 1)), 1, encoder.ElementsPerRow)[0]
	b.Run("row/cpu", func(b *testing.B) {
		b.SetBytes(encoder.BytesPerRow)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Cells(ctx, row); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("row/go-eth-kzg", func(b *testing.B) {
		c := ethKZG(b)
		blob := toBlob(row)
		b.SetBytes(encoder.BytesPerRow)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.ComputeCells(blob, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecoverCells recovers a row from its 64 odd cells.
func BenchmarkRecoverCells(b *testing.B) {
	ctx := context.Background()
	e, err := encoder.New(encoder.WithWorkers(1))
	if err != nil {
		b.Fatal(err)
	}
	row := randRows(rand.New(rand.NewPCG(2, 2)), 1, encoder.ElementsPerRow)[0]
	cells, err := e.Cells(ctx, row)
	if err != nil {
		b.Fatal(err)
	}
	have := map[int][]fr.Element{}
	for c := 1; c < encoder.CellsPerRow; c += 2 {
		have[c] = cells[c]
	}
	b.Run("row/cpu", func(b *testing.B) {
		b.SetBytes(encoder.BytesPerRow)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.RecoverCells(ctx, have); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReconstruct decodes a grid holding the odd cells of the odd rows.
func BenchmarkReconstruct(b *testing.B) {
	ctx := context.Background()
	e, err := encoder.New()
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range benchSizes[:2] {
		b.Run(s.name+"/cpu", func(b *testing.B) {
			ext := codeword(b, e, rand.New(rand.NewPCG(uint64(s.bytes), 4)), kFor(s.bytes))
			g := mask(fullGrid(b, e, ext), func(j, c int) bool { return j%2 == 1 && c%2 == 1 })
			b.SetBytes(int64(s.bytes))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Reconstruct(ctx, len(ext)/4, g); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
