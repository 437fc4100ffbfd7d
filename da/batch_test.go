package da

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// testComm is a made-up commitment (the da package never parses points).
func testComm(tag string, i int) Commitment {
	var c Commitment
	c[0] = 0xa0
	binary.BigEndian.PutUint16(c[1:], uint16(i))
	copy(c[3:], tag)
	return c
}

// testBlob is a valid blob header of the given length: R = ceil(L / 126976)
// made-up commitments and the key they hash to.
func testBlob(tag string, length uint64) BlobHeader {
	r := RowsFor(length)
	h := BlobHeader{Length: length, Rows: r}
	for i := 0; i < int(r); i++ {
		h.Commitments = append(h.Commitments, testComm(tag, i))
	}
	h.Key = ComputeBlobKey(length, h.Commitments)
	return h
}

// testBatch is a valid batch header of blobs of the given lengths.
func testBatch(lengths ...uint64) *BatchHeader {
	b := &BatchHeader{}
	for i, l := range lengths {
		b.Blobs = append(b.Blobs, testBlob(fmt.Sprintf("blob-%d", i), l))
	}
	return b
}

// mixedBatch has R = 3, 1, 5, 2: D = 11, K = 16, N = 44.
func mixedBatch() *BatchHeader {
	return testBatch(2*BytesPerRow+1, 1, 5*BytesPerRow, BytesPerRow+BytesPerRow/2)
}

// keyByHand is SHA-256("zgda/v2/blob" ‖ u64be L ‖ u32be R ‖ C_0 ‖ …), written
// out without the package's helpers.
func keyByHand(length uint64, rows uint32, comms []Commitment) BlobKey {
	var buf []byte
	buf = append(buf, "zgda/v2/blob"...)
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], length)
	buf = append(buf, l[:]...)
	var r [4]byte
	binary.BigEndian.PutUint32(r[:], rows)
	buf = append(buf, r[:]...)
	for _, c := range comms {
		buf = append(buf, c[:]...)
	}
	return BlobKey(sha256.Sum256(buf))
}

func TestComputeBlobKey(t *testing.T) {
	for _, l := range []uint64{1, 30, 31, BytesPerRow, BytesPerRow + 1, 3*BytesPerRow - 7, MaxBlobLength} {
		h := testBlob("k", l)
		if want := keyByHand(l, h.Rows, h.Commitments); h.Key != want {
			t.Errorf("L=%d: key %s, want %s", l, h.Key, want)
		}
	}
	// Known answer from an independent Python implementation: L = 2·126976+1,
	// C_i = 0xc0 ‖ 47 × byte(i).
	comms := make([]Commitment, 3)
	for i := range comms {
		comms[i][0] = 0xc0
		for j := 1; j < CommitmentSize; j++ {
			comms[i][j] = byte(i)
		}
	}
	if got := ComputeBlobKey(2*BytesPerRow+1, comms); hex.EncodeToString(got[:]) != "0bdb4a35adbfe75ce7c04f8fbedd4a08be40e17a1b4fc7c6ce5c3936f43247d4" {
		t.Errorf("known answer: %s", got)
	}
	// L is under the key: same commitments, one byte more, another key.
	if ComputeBlobKey(2*BytesPerRow+1, comms) == ComputeBlobKey(2*BytesPerRow+2, comms) {
		t.Error("the key does not depend on L")
	}
	// So is every commitment, and their order.
	swapped := []Commitment{comms[1], comms[0], comms[2]}
	if ComputeBlobKey(2*BytesPerRow+1, comms) == ComputeBlobKey(2*BytesPerRow+1, swapped) {
		t.Error("the key does not depend on the commitments' order")
	}
}

func TestRowsFor(t *testing.T) {
	for _, tc := range []struct {
		l    uint64
		want uint32
	}{
		{0, 0}, {1, 1}, {BytesPerRow - 1, 1}, {BytesPerRow, 1}, {BytesPerRow + 1, 2},
		{2 * BytesPerRow, 2}, {2*BytesPerRow + 1, 3}, {MaxBlobLength - 1, 256},
		{MaxBlobLength, 256}, {MaxBlobLength + 1, 257},
	} {
		if got := RowsFor(tc.l); got != tc.want {
			t.Errorf("RowsFor(%d) = %d, want %d", tc.l, got, tc.want)
		}
	}
	if MaxBlobLength != 32505856 || BytesPerRow != 4096*31 {
		t.Fatal("sizes of spec §3.1")
	}
}

func TestBlobHeaderCheck(t *testing.T) {
	for _, l := range []uint64{1, BytesPerRow, BytesPerRow + 1, MaxBlobLength} {
		h := testBlob("ok", l)
		if err := h.Check(); err != nil {
			t.Errorf("L=%d: %v", l, err)
		}
		if e := h.Entry(); e.Key != h.Key || e.Rows != h.Rows {
			t.Errorf("L=%d: entry %+v", l, e)
		}
	}
	// rehash gives a header whose key is right for its (L, commitments), so
	// that only the shape is wrong.
	rehash := func(h BlobHeader) BlobHeader {
		h.Key = ComputeBlobKey(h.Length, h.Commitments)
		return h
	}
	comms := func(n int) []Commitment {
		out := make([]Commitment, n)
		for i := range out {
			out[i] = testComm("c", i)
		}
		return out
	}
	shape := []struct {
		name, want string
		h          BlobHeader
	}{
		{"R above ceil(L/126976)", "2 rows for 126976 bytes, want 1", rehash(BlobHeader{Length: BytesPerRow, Rows: 2, Commitments: comms(2)})},
		{"R below ceil(L/126976)", "1 rows for 126977 bytes, want 2", rehash(BlobHeader{Length: BytesPerRow + 1, Rows: 1, Commitments: comms(1)})},
		{"R = 0", "0 rows for 5 bytes", rehash(BlobHeader{Length: 5, Rows: 0})},
		{"L = 0", "length 0", rehash(BlobHeader{Length: 0, Rows: 0})},
		{"L = 0, R = 1", "length 0", rehash(BlobHeader{Length: 0, Rows: 1, Commitments: comms(1)})},
		{"L above the maximum", "length 32505857", rehash(BlobHeader{Length: MaxBlobLength + 1, Rows: 257, Commitments: comms(257)})},
		{"too few commitments", "1 commitments for 2 rows", rehash(BlobHeader{Length: BytesPerRow + 1, Rows: 2, Commitments: comms(1)})},
		{"too many commitments", "2 commitments for 1 rows", rehash(BlobHeader{Length: 1, Rows: 1, Commitments: comms(2)})},
		{"no commitments", "0 commitments for 1 rows", rehash(BlobHeader{Length: 1, Rows: 1})},
	}
	for _, c := range shape {
		for _, f := range []func(*BlobHeader) error{(*BlobHeader).CheckShape, (*BlobHeader).Check} {
			err := f(&c.h)
			if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want ErrHeader saying %q", c.name, err, c.want)
			}
		}
	}
	// Canonical shape, wrong key: CheckShape passes, Check does not.
	good := testBlob("k", 2*BytesPerRow+1)
	keys := []struct {
		name string
		h    BlobHeader
	}{
		{"key bit flipped", func() BlobHeader { h := good; h.Key[5] ^= 1; return h }()},
		{"zero key", func() BlobHeader { h := good; h.Key = BlobKey{}; return h }()},
		{"key of another length", func() BlobHeader {
			h := good
			h.Key = ComputeBlobKey(h.Length+1, h.Commitments)
			return h
		}()},
		{"commitment changed", func() BlobHeader {
			h := good
			h.Commitments = append([]Commitment(nil), good.Commitments...)
			h.Commitments[2][47] ^= 1
			return h
		}()},
		{"length changed within the same R", func() BlobHeader { h := good; h.Length++; return h }()},
	}
	for _, c := range keys {
		if err := c.h.CheckShape(); err != nil {
			t.Errorf("%s: CheckShape: %v", c.name, err)
		}
		if err := c.h.Check(); !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "hashes to") {
			t.Errorf("%s: Check: %v", c.name, err)
		}
	}
	if err := good.Check(); err != nil {
		t.Fatalf("the mutations changed the original: %v", err)
	}
}

func TestBatchHeaderCheck(t *testing.T) {
	good := mixedBatch()
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	full := testBatch(MaxBlobLength) // D = 256 exactly
	if err := full.Check(); err != nil {
		t.Fatalf("D = 256: %v", err)
	}
	ones := &BatchHeader{}
	for i := 0; i < MaxBatchBlobs; i++ {
		ones.Blobs = append(ones.Blobs, testBlob(fmt.Sprint("one", i), 1))
	}
	if err := ones.Check(); err != nil {
		t.Fatalf("256 blobs of one row: %v", err)
	}
	cases := []struct {
		name, want string
		h          *BatchHeader
		shapeOK    bool // CheckShape passes; only Check's hashing fails
	}{
		{"no blobs", "0 blobs", &BatchHeader{}, false},
		{"nil blobs", "0 blobs", &BatchHeader{Blobs: nil}, false},
		{"257 blobs", "257 blobs", func() *BatchHeader {
			h := &BatchHeader{Blobs: append([]BlobHeader(nil), ones.Blobs...)}
			h.Blobs = append(h.Blobs, testBlob("extra", 1))
			return h
		}(), false},
		{"zero key", "zero key", func() *BatchHeader {
			h := mixedBatch()
			h.Blobs[1].Key = BlobKey{}
			return h
		}(), false},
		{"duplicate key", "appears twice", func() *BatchHeader {
			h := mixedBatch()
			h.Blobs[3] = h.Blobs[1]
			return h
		}(), false},
		{"D = 257", "257 data rows", testBatch(200*BytesPerRow, 57*BytesPerRow), false},
		{"D = 512", "512 data rows", testBatch(MaxBlobLength, MaxBlobLength-1), false},
		{"R = 257", "257 rows", testBatch(MaxBlobLength + 1), false},
		{"blob of non-canonical shape", "blob 2", func() *BatchHeader {
			h := mixedBatch()
			h.Blobs[2].Length = 1 // R = 5 for 1 byte
			h.Blobs[2].Key = ComputeBlobKey(1, h.Blobs[2].Commitments)
			return h
		}(), false},
		{"a key that does not hash", "hashes to", func() *BatchHeader {
			h := mixedBatch()
			h.Blobs[2].Commitments[4][10] ^= 1
			return h
		}(), true},
	}
	for _, c := range cases {
		err := c.h.CheckShape()
		if c.shapeOK && err != nil {
			t.Errorf("%s: CheckShape: %v", c.name, err)
		}
		if !c.shapeOK && (!errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: CheckShape: %v, want ErrHeader saying %q", c.name, err, c.want)
		}
		if err := c.h.Check(); !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check: %v, want ErrHeader saying %q", c.name, err, c.want)
		}
	}
}

func TestBatchHeaderLayout(t *testing.T) {
	b := mixedBatch()
	if d, k, n := b.DataRows(), b.MatrixRows(), b.DispersedRows(); d != 11 || k != 16 || n != 44 {
		t.Fatalf("D, K, N = %d, %d, %d; want 11, 16, 44", d, k, n)
	}
	if got := b.Offsets(); !reflect.DeepEqual(got, []int{0, 3, 4, 9}) {
		t.Fatalf("offsets %v", got)
	}
	for i, bl := range b.Blobs {
		if b.Index(bl.Key) != i {
			t.Fatalf("Index of blob %d: %d", i, b.Index(bl.Key))
		}
	}
	if b.Index(BlobKey{1}) != -1 {
		t.Fatal("Index of an unknown key")
	}
	// Commitments are the data rows' in matrix order: matrix row o_b + k is
	// row k of blob b.
	cs := b.Commitments()
	if len(cs) != 11 {
		t.Fatalf("%d commitments", len(cs))
	}
	offs := b.Offsets()
	for i, bl := range b.Blobs {
		for k, c := range bl.Commitments {
			if cs[offs[i]+k] != c {
				t.Fatalf("commitment of matrix row %d is not row %d of blob %d", offs[i]+k, k, i)
			}
		}
	}
	es := b.Entries()
	for i, e := range es {
		if e.Key != b.Blobs[i].Key || e.Rows != b.Blobs[i].Rows {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if root, err := BatchRoot(es); err != nil || b.Root() != root {
		t.Fatalf("Root is not the batch root of the entries (%v)", err)
	}
	// Dispersed rows: data rows 0..10 are extended rows 0..10, parity rows
	// 11..43 are extended rows 16..48 (K + n − D); padding 11..15 and
	// extended rows 49..63 are not dispersed.
	seen := map[int]bool{}
	for n := 0; n < b.DispersedRows(); n++ {
		j := ExtendedRow(n, 11)
		want := n
		if n >= 11 {
			want = 16 + n - 11
		}
		if j != want || seen[j] {
			t.Fatalf("ExtendedRow(%d, 11) = %d, want %d", n, j, want)
		}
		seen[j] = true
	}
	if ExtendedRow(43, 11) != 48 || ExtendedRow(11, 11) != 16 || ExtendedRow(10, 11) != 10 {
		t.Fatal("ExtendedRow boundaries")
	}
	// D = 1: K = 1, the three parity rows are extended rows 1, 2, 3.
	one := testBatch(1)
	if one.DataRows() != 1 || one.MatrixRows() != 1 || one.DispersedRows() != 4 {
		t.Fatal("a one-row batch")
	}
	for n := 0; n < 4; n++ {
		if ExtendedRow(n, 1) != n {
			t.Fatalf("D=1: ExtendedRow(%d) = %d", n, ExtendedRow(n, 1))
		}
	}
	// D = 256 = K: parity starts right after the data.
	if ExtendedRow(256, 256) != 256 || ExtendedRow(1023, 256) != 1023 {
		t.Fatal("D = 256")
	}
	// D = 129: K = 256, parity rows are extended rows 256 … 256+386.
	if ExtendedRow(128, 129) != 128 || ExtendedRow(129, 129) != 256 || ExtendedRow(4*129-1, 129) != 256+3*129-1 {
		t.Fatal("D = 129")
	}
	for _, tc := range [][2]int{{0, 1}, {1, 1}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {11, 16}, {128, 128}, {129, 256}, {256, 256}} {
		if got := MatrixRows(tc[0]); got != tc[1] {
			t.Errorf("MatrixRows(%d) = %d, want %d", tc[0], got, tc[1])
		}
	}
}

// headerByHand is the binary form of spec §3.3, written out.
func headerByHand(h *BatchHeader) []byte {
	var out bytes.Buffer
	binary.Write(&out, binary.BigEndian, uint16(len(h.Blobs)))
	for _, b := range h.Blobs {
		out.Write(b.Key[:])
		binary.Write(&out, binary.BigEndian, b.Length)
		binary.Write(&out, binary.BigEndian, b.Rows)
		for _, c := range b.Commitments {
			out.Write(c[:])
		}
	}
	return out.Bytes()
}

func TestBatchHeaderBinary(t *testing.T) {
	ones := &BatchHeader{}
	for i := 0; i < MaxBatchBlobs; i++ {
		ones.Blobs = append(ones.Blobs, testBlob(fmt.Sprint("one", i), uint64(i+1)))
	}
	for name, h := range map[string]*BatchHeader{
		"mixed":           mixedBatch(),
		"one row":         testBatch(1),
		"one blob of 256": testBatch(MaxBlobLength),
		"256 blobs":       ones,
	} {
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(b, headerByHand(h)) {
			t.Fatalf("%s: encoding is not spec §3.3's", name)
		}
		if len(b) != batchHeaderSize(h) || len(b) > MaxBatchHeaderSize {
			t.Fatalf("%s: %d bytes, size %d, limit %d", name, len(b), batchHeaderSize(h), MaxBatchHeaderSize)
		}
		var g BatchHeader
		if err := g.UnmarshalBinary(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(&g, h) {
			t.Fatalf("%s: round trip differs", name)
		}
	}
	if b, _ := ones.MarshalBinary(); len(b) != MaxBatchHeaderSize || MaxBatchHeaderSize != 23554 {
		t.Fatalf("the largest header is %d bytes, limit %d, spec 23,554", len(b), MaxBatchHeaderSize)
	}

	good, _ := mixedBatch().MarshalBinary()
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	// Offsets in the encoding: u16 B, then blob 0 at 2 (key, L at 34, R at
	// 42, commitments at 46).
	cases := map[string][]byte{
		"empty":          nil,
		"one byte":       good[:1],
		"trailing byte":  append(append([]byte(nil), good...), 0),
		"trailing blob":  append(append([]byte(nil), good...), good[2:2+44+48]...),
		"oversized":      make([]byte, MaxBatchHeaderSize+1),
		"zero blobs":     mut(func(b []byte) { b[0], b[1] = 0, 0 }),
		"count too high": mut(func(b []byte) { b[1] = 5 }),
		"count too low":  mut(func(b []byte) { b[1] = 3 }),
		"257 blobs":      mut(func(b []byte) { binary.BigEndian.PutUint16(b, 257) }),
		"R = 0":          mut(func(b []byte) { binary.BigEndian.PutUint32(b[42:], 0) }),
		"R = 257":        mut(func(b []byte) { binary.BigEndian.PutUint32(b[42:], 257) }),
		"R changed":      mut(func(b []byte) { binary.BigEndian.PutUint32(b[42:], 4) }),
		"L = 0":          mut(func(b []byte) { binary.BigEndian.PutUint64(b[34:], 0) }),
		"L changed":      mut(func(b []byte) { b[41]++ }),
		"L over max":     mut(func(b []byte) { binary.BigEndian.PutUint64(b[34:], MaxBlobLength+1) }),
		"key changed":    mut(func(b []byte) { b[2] ^= 0x80 }),
		"commitment":     mut(func(b []byte) { b[46+48+7] ^= 1 }),
	}
	for i := 1; i < len(good); i++ {
		cases[fmt.Sprintf("truncated to %d", i)] = good[:i]
	}
	for name, b := range cases {
		var g BatchHeader
		if err := g.UnmarshalBinary(b); !errors.Is(err, ErrHeader) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Oversized input is refused by its length, before it is read.
	over, _ := ones.MarshalBinary()
	over = append(over, 0)
	var o BatchHeader
	if err := o.UnmarshalBinary(over); !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "23555 bytes, limit 23554") {
		t.Errorf("oversized: %v", err)
	}
	// D > 256 with every blob valid on its own.
	big := testBatch(200*BytesPerRow, 57*BytesPerRow)
	var g BatchHeader
	if err := g.UnmarshalBinary(headerByHand(big)); !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "at most 256 in the batch") {
		t.Errorf("D = 257: %v", err)
	}
	dup := mixedBatch()
	dup.Blobs[3] = dup.Blobs[0]
	if err := g.UnmarshalBinary(headerByHand(dup)); !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("duplicate key: %v", err)
	}
	zero := testBatch(1)
	zero.Blobs[0].Key = BlobKey{}
	if err := g.UnmarshalBinary(headerByHand(zero)); !errors.Is(err, ErrHeader) {
		t.Errorf("zero key: %v", err)
	}
	// The encoder refuses a header of the wrong shape.
	for name, h := range map[string]*BatchHeader{"empty": {}, "D = 257": big, "duplicate": dup} {
		if _, err := h.MarshalBinary(); !errors.Is(err, ErrHeader) {
			t.Errorf("MarshalBinary %s: %v", name, err)
		}
	}
}

// FuzzBatchHeader: the decoder never panics, refuses with ErrHeader, and
// whatever it accepts is valid and re-encodes to the same bytes.
func FuzzBatchHeader(f *testing.F) {
	for _, h := range []*BatchHeader{mixedBatch(), testBatch(1), testBatch(5, 6, 7)} {
		b, _ := h.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h BatchHeader
		if err := h.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("error not marked ErrHeader: %v", err)
			}
			return
		}
		if err := h.Check(); err != nil {
			t.Fatalf("decoded an invalid header: %v", err)
		}
		out, err := h.MarshalBinary()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
	})
}
