package encoder_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
)

func TestParamsFor(t *testing.T) {
	for _, tc := range []struct {
		length, rows int
	}{
		{1, 1}, {31, 1}, {32, 1}, {encoder.BytesPerRow, 1}, {encoder.BytesPerRow + 1, 2},
		{2 * encoder.BytesPerRow, 2}, {2*encoder.BytesPerRow + 1, 3}, {131072, 2}, {1 << 20, 9},
		{8 << 20, 67}, {encoder.MaxBlobSize - 1, 256}, {encoder.MaxBlobSize, 256},
	} {
		p, err := encoder.ParamsFor(tc.length)
		if err != nil || p.Rows != tc.rows || p.Length != tc.length {
			t.Errorf("ParamsFor(%d) = %+v, %v; want R = %d", tc.length, p, err, tc.rows)
		}
	}
	if _, err := encoder.ParamsFor(0); !errors.Is(err, encoder.ErrEmptyBlob) {
		t.Errorf("ParamsFor(0): %v", err)
	}
	_, err := encoder.ParamsFor(encoder.MaxBlobSize + 1)
	if !errors.Is(err, encoder.ErrBlobTooLarge) || !strings.Contains(err.Error(), "32505856") {
		t.Errorf("ParamsFor(max+1): %v (should name the limit)", err)
	}
	if encoder.MaxBlobSize != 32505856 || encoder.BytesPerRow != 126976 || encoder.ElementsPerCell != 64 || encoder.MaxBatchRows != 256 {
		t.Fatal("constants drifted from docs/spec.md §3.1 Packing")
	}
	if got := encoder.BytesPerElement * encoder.ElementsPerRow; got != encoder.BytesPerRow {
		t.Fatalf("31 × 4096 = %d, BytesPerRow %d", got, encoder.BytesPerRow)
	}
}

// elemBytes is an element's 32-byte big-endian encoding.
func elemBytes(e fr.Element) []byte { b := e.Bytes(); return b[:] }

// want32 is 0x00 ‖ piece ‖ zero padding to 32 bytes.
func want32(piece []byte) []byte {
	w := make([]byte, 32)
	copy(w[1:], piece)
	return w
}

func TestPackKnownAnswers(t *testing.T) {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 1)
		}
		return b
	}
	type elem struct {
		row, idx int
		bytes    []byte
	}
	for _, tc := range []struct {
		name string
		blob []byte
		k    int
		want []elem // every other element must be zero
	}{
		{"1 byte", []byte{0xab}, 1, []elem{{0, 0, append([]byte{0, 0xab}, make([]byte, 30)...)}}},
		{"31 bytes", seq(31), 1, []elem{{0, 0, append([]byte{0}, seq(31)...)}}},
		{"32 bytes", seq(32), 1, []elem{
			{0, 0, append([]byte{0}, seq(31)...)},
			{0, 1, want32(seq(32)[31:])},
		}},
		{"one full row", seq(encoder.BytesPerRow), 1, []elem{
			{0, 0, want32(seq(encoder.BytesPerRow)[:31])},
			{0, 4095, want32(seq(encoder.BytesPerRow)[encoder.BytesPerRow-31:])},
		}},
		{"one row and a byte", seq(encoder.BytesPerRow + 1), 2, []elem{
			{0, 4095, want32(seq(encoder.BytesPerRow)[encoder.BytesPerRow-31:])},
			{1, 0, want32([]byte{seq(encoder.BytesPerRow + 1)[encoder.BytesPerRow]})},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := encoder.Pack(tc.blob)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.k {
				t.Fatalf("K = %d, want %d", len(rows), tc.k)
			}
			wanted := map[[2]int][]byte{}
			for _, w := range tc.want {
				wanted[[2]int{w.row, w.idx}] = w.bytes
			}
			nonZero := 0
			for i, row := range rows {
				if len(row) != encoder.ElementsPerRow {
					t.Fatalf("row %d has %d elements", i, len(row))
				}
				for j, e := range row {
					got := elemBytes(e)
					if w, ok := wanted[[2]int{i, j}]; ok {
						if !bytes.Equal(got, w) {
							t.Errorf("row %d element %d = %x, want %x", i, j, got, w)
						}
						continue
					}
					if !e.IsZero() {
						nonZero++
					}
				}
			}
			// Full rows have every element set; only short blobs are checked for zeros.
			if len(tc.blob) < 64 && nonZero != 0 {
				t.Errorf("%d unexpected non-zero elements", nonZero)
			}
			// Every piece is where packing puts it.
			for p := 0; p*31 < len(tc.blob); p++ {
				got := elemBytes(rows[p/4096][p%4096])
				if !bytes.Equal(got, want32(tc.blob[p*31:min(p*31+31, len(tc.blob))])) {
					t.Fatalf("piece %d = %x", p, got)
				}
			}
			back, err := encoder.Unpack(rows, len(tc.blob))
			if err != nil || !bytes.Equal(back, tc.blob) {
				t.Fatalf("Unpack: %v", err)
			}
		})
	}
}

func TestPackRoundTripRandomLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{1, 30, 31, 32, 61, 62, 63, 4096*31 - 1, encoder.BytesPerRow, encoder.BytesPerRow + 30, 3*encoder.BytesPerRow + 5}
	for range 20 {
		lengths = append(lengths, 1+rng.IntN(5*encoder.BytesPerRow))
	}
	if long() {
		lengths = append(lengths, encoder.MaxBlobSize, encoder.MaxBlobSize-1)
	}
	for _, n := range lengths {
		blob := make([]byte, n)
		for i := range blob {
			blob[i] = byte(rng.Uint32())
		}
		rows, err := encoder.Pack(blob)
		if err != nil {
			t.Fatal(err)
		}
		back, err := encoder.Unpack(rows, n)
		if err != nil || !bytes.Equal(back, blob) {
			t.Fatalf("length %d: round trip failed: %v", n, err)
		}
		// PackInto over dirty rows writes every element.
		for _, r := range rows {
			for j := range r {
				r[j].SetUint64(12345)
			}
		}
		if err := encoder.PackInto(blob, rows); err != nil {
			t.Fatal(err)
		}
		back, err = encoder.Unpack(rows, n)
		if err != nil || !bytes.Equal(back, blob) {
			t.Fatalf("length %d: PackInto round trip failed: %v", n, err)
		}
	}
}

func TestPackErrors(t *testing.T) {
	if _, err := encoder.Pack(nil); !errors.Is(err, encoder.ErrEmptyBlob) {
		t.Errorf("Pack(nil): %v", err)
	}
	if _, err := encoder.Pack(make([]byte, encoder.MaxBlobSize+1)); !errors.Is(err, encoder.ErrBlobTooLarge) {
		t.Errorf("Pack(too large): %v", err)
	}
	rows := [][]fr.Element{make([]fr.Element, 4096)}
	if err := encoder.PackInto(make([]byte, encoder.BytesPerRow+1), rows); !errors.Is(err, encoder.ErrShape) {
		t.Errorf("PackInto with too few rows: %v", err)
	}
	if err := encoder.PackInto([]byte{1}, [][]fr.Element{make([]fr.Element, 10)}); !errors.Is(err, encoder.ErrShape) {
		t.Errorf("PackInto with a short row: %v", err)
	}
}

func TestUnpackCorrupt(t *testing.T) {
	blob := bytes.Repeat([]byte{0x5a}, 100) // 4 pieces: 31+31+31+7
	fresh := func() [][]fr.Element {
		rows, err := encoder.Pack(blob)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	big := func() fr.Element { // 2^248
		var b [32]byte
		b[0] = 1
		e, err := fr.BigEndian.Element(&b)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, tc := range []struct {
		name     string
		mutate   func([][]fr.Element) [][]fr.Element
		length   int
		row, elt int
	}{
		{"element ≥ 2^248", func(r [][]fr.Element) [][]fr.Element { r[0][1] = big(); return r }, 100, 0, 1},
		{"padding in last piece", func(r [][]fr.Element) [][]fr.Element { r[0][3].SetUint64(1); return r }, 100, 0, 3},
		{"element after the end", func(r [][]fr.Element) [][]fr.Element { r[0][4000].SetUint64(9); return r }, 100, 0, 4000},
		{"shorter length leaves data", func(r [][]fr.Element) [][]fr.Element { return r }, 62, 0, 2},
		{"too few rows", func(r [][]fr.Element) [][]fr.Element { return r[:0] }, 100, -1, -1},
		{"too many rows", func(r [][]fr.Element) [][]fr.Element { return append(r, r[0]) }, 100, -1, -1},
		{"short row", func(r [][]fr.Element) [][]fr.Element { r[0] = r[0][:4095]; return r }, 100, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := encoder.Unpack(tc.mutate(fresh()), tc.length)
			var ce *encoder.CorruptError
			if !errors.Is(err, encoder.ErrCorruptData) || !errors.As(err, &ce) {
				t.Fatalf("got %v, want a CorruptError", err)
			}
			if ce.Row != tc.row || ce.Element != tc.elt {
				t.Fatalf("error names row %d element %d, want %d/%d: %v", ce.Row, ce.Element, tc.row, tc.elt, err)
			}
		})
	}
	if _, err := encoder.Unpack(fresh(), 0); !errors.Is(err, encoder.ErrEmptyBlob) {
		t.Errorf("Unpack length 0: %v", err)
	}
}

func FuzzPackUnpack(f *testing.F) {
	f.Add([]byte{0})
	f.Add(bytes.Repeat([]byte{0xff}, 63))
	f.Add(bytes.Repeat([]byte{1, 2, 3}, 1000))
	f.Fuzz(func(t *testing.T, blob []byte) {
		rows, err := encoder.Pack(blob)
		if len(blob) == 0 {
			if !errors.Is(err, encoder.ErrEmptyBlob) {
				t.Fatalf("empty blob: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		back, err := encoder.Unpack(rows, len(blob))
		if err != nil || !bytes.Equal(back, blob) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzUnpack feeds arbitrary element bytes (reduced mod r) and shapes to Unpack:
// it must never panic, and whatever it accepts must pack back to the same rows.
func FuzzUnpack(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, uint32(100), uint8(1), uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, 64), uint32(encoder.BytesPerRow+1), uint8(2), uint16(7))
	f.Add([]byte{}, uint32(0), uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, raw []byte, length uint32, nrows uint8, stride uint16) {
		l := int(length % (2*encoder.BytesPerRow + 2)) // keep K ≤ 2: fuzzing is about shape, not size
		rows := make([][]fr.Element, int(nrows%4))
		for i := range rows {
			w := encoder.ElementsPerRow
			if stride%5 == 4 && i == 0 {
				w = int(stride) % encoder.ElementsPerRow
			}
			rows[i] = make([]fr.Element, w)
		}
		total := 0
		for _, r := range rows {
			total += len(r)
		}
		for off, p := 0, 0; off < len(raw) && total > 0; off, p = off+32, p+int(stride)+1 {
			pos := p % total
			i := 0
			for pos >= len(rows[i]) {
				pos -= len(rows[i])
				i++
			}
			rows[i][pos].SetBytes(raw[off:min(off+32, len(raw))])
		}
		out, err := encoder.Unpack(rows, l)
		if err != nil {
			return
		}
		if len(out) != l {
			t.Fatalf("Unpack returned %d bytes, want %d", len(out), l)
		}
		again, err := encoder.Pack(out)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := equalRows(again, rows); !ok {
			t.Fatal("accepted rows that packing does not produce")
		}
	})
}
