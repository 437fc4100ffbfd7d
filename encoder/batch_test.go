package encoder_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// testBatch is an encoded batch and the bytes of its blobs.
type testBatch struct {
	raw [][]byte
	b   *encoder.Batch
}

// encodeSizes encodes one batch of blobs of the given sizes (random bytes).
func encodeSizes(t testing.TB, e *encoder.Encoder, rng *rand.Rand, sizes ...int) *testBatch {
	t.Helper()
	tb := &testBatch{}
	var blobs []*encoder.Blob
	for _, n := range sizes {
		raw := blobBytes(rng, n)
		b, err := e.CommitBlob(context.Background(), kzg.Default(), raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		tb.raw = append(tb.raw, raw)
		blobs = append(blobs, b)
	}
	b, err := e.EncodeBatch(context.Background(), kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	tb.b = b
	return tb
}

// mixedSizes are batches whose D is not a power of two, and one that is.
var mixedSizes = [][]int{
	{1},
	{1, 3, 2*encoder.BytesPerRow + 5}, // D = 5, K = 8
	{encoder.BytesPerRow, encoder.BytesPerRow + 1, 5000, 3 * encoder.BytesPerRow}, // D = 7
	{1 << 20},            // D = 9, K = 16
	{100, 200, 300, 400}, // D = K = 4
}

func TestEncodeBatchShape(t *testing.T) {
	e := blobEncoder(t)
	rng := rand.New(rand.NewPCG(71, 72))
	tb := encodeSizes(t, e, rng, 1, 3, 2*encoder.BytesPerRow+5)
	b := tb.b
	if b.D != 5 || b.K != 8 || b.N != 20 || len(b.Rows) != 20 || len(b.Commitments) != 20 {
		t.Fatalf("D=%d K=%d N=%d, %d rows, %d commitments", b.D, b.K, b.N, len(b.Rows), len(b.Commitments))
	}
	if b.Header.DataRows() != 5 || b.Root != b.Header.Root() || len(b.Header.Blobs) != 3 {
		t.Fatalf("header %+v, root %s", b.Header, b.Root)
	}
	for i, bl := range b.Blobs {
		rows := b.BlobRows(i)
		if len(rows) != len(bl.Rows) {
			t.Fatalf("blob %d: %d rows", i, len(rows))
		}
		for r := range rows {
			if &rows[r][0] != &bl.Rows[r][0] {
				t.Fatalf("blob %d row %d is a copy, not the blob's row", i, r)
			}
		}
		if b.Header.Blobs[i].Key != bl.Key {
			t.Fatalf("blob %d: header key %s, blob %s", i, b.Header.Blobs[i].Key, bl.Key)
		}
	}
	got, err := kzg.Default().CommitRows(context.Background(), b.Rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, b.Commitments) {
		t.Fatal("listed commitments are not those of the dispersed rows")
	}
	// The parity rows are extended rows K … K+3D−1 of the matrix.
	matrix := make([][]fr.Element, b.K)
	copy(matrix, b.Rows[:b.D])
	for i := b.D; i < b.K; i++ {
		matrix[i] = make([]fr.Element, encoder.ElementsPerRow)
	}
	ext, err := e.Extend(context.Background(), matrix)
	if err != nil {
		t.Fatal(err)
	}
	requireRows(t, b.Rows[b.D:], ext[b.K:b.K+3*b.D])

	one, err := e.EncodeBlob(context.Background(), kzg.Default(), tb.raw[2], nil)
	if err != nil {
		t.Fatal(err)
	}
	if one.D != 3 || one.K != 4 || one.N != 12 || one.Blobs[0].Key != b.Blobs[2].Key {
		t.Fatalf("batch of one: D=%d K=%d N=%d", one.D, one.K, one.N)
	}
}

// zeroBlob is a blob of n zero bytes, committed without an MSM: zero rows
// commit to the identity.
func zeroBlob(t testing.TB, n int) *encoder.Blob {
	t.Helper()
	p, err := encoder.ParamsFor(n)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]fr.Element, encoder.ElementsPerRow)
	rows := make([][]fr.Element, p.Rows)
	comms := make([]kzg.Commitment, p.Rows)
	for i := range rows {
		rows[i], comms[i] = zero, kzg.Commitment{0xc0}
	}
	b, err := encoder.NewBlob(n, rows, comms)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeBatchRefuses(t *testing.T) {
	e := blobEncoder(t)
	ctx := context.Background()
	a, b := zeroBlob(t, 10), zeroBlob(t, 11)
	wrongKey := *a
	wrongKey.Key[0] ^= 1
	zeroKey := *a
	zeroKey.Key = da.BlobKey{}
	shortRows := *a
	shortRows.Rows = nil
	big1, big2 := zeroBlob(t, 200*encoder.BytesPerRow), zeroBlob(t, 57*encoder.BytesPerRow-1)
	for name, tc := range map[string]struct {
		blobs []*encoder.Blob
		want  error
	}{
		"empty":             {nil, encoder.ErrEmptyBatch},
		"nil blob":          {[]*encoder.Blob{a, nil}, encoder.ErrShape},
		"duplicate":         {[]*encoder.Blob{a, b, a}, encoder.ErrDuplicateBlob},
		"key mismatch":      {[]*encoder.Blob{&wrongKey}, encoder.ErrBadBlob},
		"zero key":          {[]*encoder.Blob{b, &zeroKey}, encoder.ErrBadBlob},
		"rows missing":      {[]*encoder.Blob{&shortRows}, encoder.ErrShape},
		"257 data rows":     {[]*encoder.Blob{big1, big2}, encoder.ErrBatchTooLarge},
		"257 one-row blobs": {oneRowBlobs(t, 257), encoder.ErrBatchTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.EncodeBatch(ctx, kzg.Default(), tc.blobs, nil); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// 256 rows is the limit, not over it.
	if b, err := e.EncodeBatch(ctx, kzg.Default(), []*encoder.Blob{big1, zeroBlob(t, 56*encoder.BytesPerRow)}, nil); err != nil || b.D != 256 || b.K != 256 {
		t.Fatalf("D = 256: %v", err)
	}
}

func oneRowBlobs(t testing.TB, n int) []*encoder.Blob {
	out := make([]*encoder.Blob, n)
	for i := range out {
		out[i] = zeroBlob(t, i+1)
	}
	return out
}

// pickRows returns the dispersed rows idx of b.
func pickRows(b *encoder.Batch, idx []int) map[int][]fr.Element {
	rows := map[int][]fr.Element{}
	for _, n := range idx {
		rows[n] = b.Rows[n]
	}
	return rows
}

// TestDecodeBatchRoundTrip: every blob of mixed-size batches comes back
// byte-identical from D random dispersed rows, from the parity rows alone,
// and from its own data rows (the fast path).
func TestDecodeBatchRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	e := blobEncoder(t)
	ctx := context.Background()
	for _, sizes := range mixedSizes {
		tb := encodeSizes(t, e, rng, sizes...)
		b := tb.b
		patterns := map[string][]int{
			"random D":    rng.Perm(b.N)[:b.D],
			"random D+2":  rng.Perm(b.N)[:min(b.D+2, b.N)],
			"last D":      seqInts(b.N-b.D, b.N),
			"data rows":   seqInts(0, b.D),
			"parity only": seqInts(b.D, b.N),
		}
		for name, idx := range patterns {
			t.Run(fmt.Sprintf("%v/%s", sizes, name), func(t *testing.T) {
				rows := pickRows(b, idx)
				data, rejected, err := e.DecodeBatch(ctx, kzg.Default(), &b.Header, rows, nil)
				if err != nil || rejected != nil {
					t.Fatalf("DecodeBatch: %v (rejected %v)", err, rejected)
				}
				requireRows(t, data, b.Rows[:b.D])
				for i := range b.Blobs {
					got, rejected, err := e.DecodeBlob(ctx, kzg.Default(), &b.Header, i, rows, nil)
					if err != nil || rejected != nil {
						t.Fatalf("DecodeBlob %d: %v (rejected %v)", i, err, rejected)
					}
					if !bytes.Equal(got, tb.raw[i]) {
						t.Fatalf("blob %d: decoded bytes differ", i)
					}
				}
			})
		}
	}
}

func corruptRow(row []fr.Element, at int) []fr.Element {
	r := slices.Clone(row)
	r[at].SetUint64(42)
	return r
}

// TestDecodeBatchRejectsCorruptRows: a corrupted row is named and left
// out; with too few good rows left the error says which were rejected and
// which are missing; bytes are never wrong.
func TestDecodeBatchRejectsCorruptRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	e := blobEncoder(t)
	ctx := context.Background()
	tb := encodeSizes(t, e, rng, 5000, 2*encoder.BytesPerRow) // D = 3, K = 4, N = 12
	b := tb.b
	// D+1 rows, one of them (a data row of blob 1) corrupted.
	rows := pickRows(b, []int{1, 2, 6, 11})
	rows[2] = corruptRow(rows[2], 100)
	for i := range b.Blobs {
		got, rejected, err := e.DecodeBlob(ctx, kzg.Default(), &b.Header, i, rows, nil)
		if err != nil || !bytes.Equal(got, tb.raw[i]) {
			t.Fatalf("blob %d: %v (bytes equal %v)", i, err, bytes.Equal(got, tb.raw[i]))
		}
		if i == 1 && !slices.Equal(rejected, []int{2}) {
			t.Fatalf("blob 1: rejected %v, want [2]", rejected)
		}
	}
	data, rejected, err := e.DecodeBatch(ctx, kzg.Default(), &b.Header, rows, nil)
	if err != nil || !slices.Equal(rejected, []int{2}) {
		t.Fatalf("DecodeBatch: %v, rejected %v", err, rejected)
	}
	requireRows(t, data, b.Rows[:b.D])
	// D rows, one corrupted: not enough left for the batch or for blob 1,
	// while blob 0's own row is there and verifies (no recovery needed).
	rows = pickRows(b, []int{0, 4, 9})
	rows[9] = corruptRow(rows[9], 7)
	if got, rejected, err := e.DecodeBlob(ctx, kzg.Default(), &b.Header, 0, rows, nil); err != nil || rejected != nil || !bytes.Equal(got, tb.raw[0]) {
		t.Fatalf("blob 0 from its own row: %v, rejected %v", err, rejected)
	}
	notEnough := func(what string, err error) {
		t.Helper()
		var rr *encoder.RowsRejectedError
		var re *encoder.RecoveryError
		if !errors.As(err, &rr) || !slices.Equal(rr.Rows, []int{9}) || !errors.Is(err, encoder.ErrNotEnoughRows) ||
			!errors.As(err, &re) || re.Have != 2 || re.Need != 3 || len(re.Missing) != 10 {
			t.Fatalf("%s: got %v", what, err)
		}
	}
	got, _, err := e.DecodeBlob(ctx, kzg.Default(), &b.Header, 1, rows, nil)
	if got != nil {
		t.Fatal("blob 1: bytes with an error")
	}
	notEnough("blob 1", err)
	data, _, err = e.DecodeBatch(ctx, kzg.Default(), &b.Header, rows, nil)
	if data != nil {
		t.Fatal("batch: rows with an error")
	}
	notEnough("batch", err)
	// A row of another batch in the right place.
	other := encodeSizes(t, e, rng, 5000, 2*encoder.BytesPerRow)
	rows = pickRows(b, []int{3, 5, 7, 8})
	rows[5] = other.b.Rows[5]
	if _, rejected, err := e.DecodeBatch(ctx, kzg.Default(), &b.Header, rows, nil); err != nil || !slices.Equal(rejected, []int{5}) {
		t.Fatalf("foreign row: %v, rejected %v", err, rejected)
	}
}

// TestDecodeBatchNonCanonical: a batch whose blob rows commit to bytes that
// packing cannot produce decodes to an error naming the blob and element,
// never to bytes; the other blob of the batch still decodes.
func TestDecodeBatchNonCanonical(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 78))
	e := blobEncoder(t)
	ctx := context.Background()
	good, err := e.CommitBlob(ctx, kzg.Default(), blobBytes(rng, 300), nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := encoder.Pack(blobBytes(rng, 100))
	if err != nil {
		t.Fatal(err)
	}
	rows[0][50].SetUint64(3) // after the end of a 100-byte blob
	comms, err := kzg.Default().CommitRows(ctx, rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := encoder.NewBlob(100, rows, comms); !errors.Is(err, encoder.ErrCorruptData) {
		t.Fatalf("NewBlob accepted a non-canonical row: %v", err)
	}
	bad := &encoder.Blob{Key: encoder.BlobKey(100, comms), Length: 100, Rows: rows, Commitments: comms}
	b, err := e.EncodeBatch(ctx, kzg.Default(), []*encoder.Blob{good, bad}, nil)
	if err != nil {
		t.Fatal(err)
	}
	have := pickRows(b, []int{4, 7})
	var ce *encoder.CorruptError
	if _, _, err := e.DecodeBatch(ctx, kzg.Default(), &b.Header, have, nil); !errors.As(err, &ce) || ce.Row != 0 || ce.Element != 50 {
		t.Fatalf("DecodeBatch: %v", err)
	}
	if _, _, err := e.DecodeBlob(ctx, kzg.Default(), &b.Header, 1, have, nil); !errors.As(err, &ce) || ce.Element != 50 {
		t.Fatalf("DecodeBlob of the bad blob: %v", err)
	}
	if _, _, err := e.DecodeBlob(ctx, kzg.Default(), &b.Header, 1, pickRows(b, []int{1}), nil); !errors.As(err, &ce) {
		t.Fatalf("DecodeBlob of the bad blob from its own row: %v", err)
	}
	if got, _, err := e.DecodeBlob(ctx, kzg.Default(), &b.Header, 0, have, nil); err != nil || len(got) != 300 {
		t.Fatalf("DecodeBlob of the good blob: %v", err)
	}
}

func TestDecodeBatchBadArguments(t *testing.T) {
	rng := rand.New(rand.NewPCG(79, 80))
	e := blobEncoder(t)
	ctx := context.Background()
	b := encodeSizes(t, e, rng, 10, 20).b // D = 2, N = 8
	tampered := da.BatchHeader{Blobs: slices.Clone(b.Header.Blobs)}
	tampered.Blobs[1].Length = 21
	for name, tc := range map[string]struct {
		hdr  *da.BatchHeader
		rows map[int][]fr.Element
		want error
	}{
		"header key mismatch": {&tampered, pickRows(b, []int{0, 1}), da.ErrHeader},
		"empty header":        {&da.BatchHeader{}, pickRows(b, []int{0, 1}), da.ErrHeader},
		"row 8 of 8":          {&b.Header, map[int][]fr.Element{8: b.Rows[0]}, encoder.ErrShape},
		"row -1":              {&b.Header, map[int][]fr.Element{-1: b.Rows[0]}, encoder.ErrShape},
		"short row":           {&b.Header, map[int][]fr.Element{0: b.Rows[0][:5], 1: b.Rows[1]}, encoder.ErrShape},
		"nil header":          {nil, pickRows(b, []int{0, 1}), encoder.ErrShape},
		"no rows":             {&b.Header, nil, encoder.ErrNotEnoughRows},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := e.DecodeBatch(ctx, kzg.Default(), tc.hdr, tc.rows, nil); !errors.Is(err, tc.want) {
				t.Fatalf("DecodeBatch: %v, want %v", err, tc.want)
			}
			if _, _, err := e.DecodeBlob(ctx, kzg.Default(), tc.hdr, 0, tc.rows, nil); !errors.Is(err, tc.want) {
				t.Fatalf("DecodeBlob: %v, want %v", err, tc.want)
			}
		})
	}
	for _, i := range []int{-1, 2} {
		if _, _, err := e.DecodeBlob(ctx, kzg.Default(), &b.Header, i, pickRows(b, []int{0, 1}), nil); !errors.Is(err, encoder.ErrShape) {
			t.Errorf("blob index %d: %v", i, err)
		}
	}
}

// batchGrid is the N × 128 cells of a batch's dispersed rows.
func batchGrid(t testing.TB, e *encoder.Encoder, b *encoder.Batch) [][][]fr.Element {
	t.Helper()
	return fullGrid(t, e, b.Rows)
}

func TestReconstructBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	e := blobEncoder(t)
	ctx := context.Background()
	for _, sizes := range [][]int{{1}, {1, 3, 2*encoder.BytesPerRow + 5}, {100, 200, 300, 400}} {
		b := encodeSizes(t, e, rng, sizes...).b
		full := batchGrid(t, e, b)
		d, n := b.D, b.N
		keep := rng.Perm(n)[:d]
		patterns := map[string]func(i, c int) bool{
			"everything":            func(i, c int) bool { return true },
			"D random rows whole":   func(i, c int) bool { return slices.Contains(keep, i) },
			"right half of each":    func(i, c int) bool { return c >= 64 },
			"odd cells of odd rows": func(i, c int) bool { return i%2 == 1 && c%2 == 1 },
			// Rows 0..D−2 row-decodable; every other row 63 cells: only the
			// columns, helped by the padding rows, finish it.
			"needs iteration": func(i, c int) bool {
				switch {
				case i < d-1:
					return c < 64
				case i == d-1:
					return c == 0 || c >= 66
				default:
					return c >= 1 && c < 64
				}
			},
		}
		for name, p := range patterns {
			t.Run(fmt.Sprintf("%v/%s", sizes, name), func(t *testing.T) {
				got, err := e.ReconstructBatch(ctx, d, mask(full, p))
				if err != nil {
					t.Fatal(err)
				}
				requireRows(t, got, b.Rows)
			})
		}
	}
	b := encodeSizes(t, e, rng, 1, 3, 2*encoder.BytesPerRow+5).b // D = 5, N = 20
	full := batchGrid(t, e, b)
	t.Run("forged cell", func(t *testing.T) {
		g := mask(full, func(i, c int) bool { return true })
		g[13][7] = corruptRow(g[13][7], 3)
		_, err := e.ReconstructBatch(ctx, b.D, g)
		var be *encoder.ByzantineError
		if !errors.As(err, &be) || be.Axis != encoder.AxisRow || be.Line != 13 {
			t.Fatalf("got %v, want dispersed row 13 named", err)
		}
	})
	t.Run("too little", func(t *testing.T) {
		// D−1 rows whole, the rest 63 cells each in the same columns: stuck.
		g := mask(full, func(i, c int) bool { return i < b.D-1 || c < 63 })
		_, err := e.ReconstructBatch(ctx, b.D, g)
		var re *encoder.RecoveryError
		if !errors.Is(err, encoder.ErrUnrecoverable) || !errors.As(err, &re) {
			t.Fatalf("got %v", err)
		}
		if !slices.Equal(re.Missing, seqInts(b.D-1, b.N)) || re.Have != b.D-1 || re.Need != b.D {
			t.Fatalf("%+v", re)
		}
	})
	for name, tc := range map[string]struct {
		d    int
		grid [][][]fr.Element
	}{
		"d = 0":         {0, nil},
		"d = 257":       {257, make([][][]fr.Element, 4*257)},
		"wrong N":       {5, make([][][]fr.Element, 21)},
		"short row":     {5, append([][][]fr.Element{full[0][:5]}, make([][][]fr.Element, 19)...)},
		"nothing given": {5, make([][][]fr.Element, 20)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.ReconstructBatch(ctx, tc.d, tc.grid); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
