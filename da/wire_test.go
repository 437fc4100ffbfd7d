package da

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

func testRow(seed byte) []byte {
	b := make([]byte, RowSize)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// testDisperseRequest carries a batch of R = 1 and R = 2 (D = 3, N = 12) and
// four of its dispersed rows.
func testDisperseRequest() *DisperseRequest {
	return &DisperseRequest{
		ChainID: "zgda-test",
		Epoch:   7,
		Quorum:  1,
		Batch:   *testBatch(1, BytesPerRow+5),
		Slices: []Slice{
			{1, testRow(1)},
			{3, testRow(2)},
			{7, testRow(3)},
			{11, testRow(4)},
		},
	}
}

// largestHeader is the largest batch header: 256 blobs of one row (D = 256,
// N = 1024).
func largestHeader() *BatchHeader {
	h := &BatchHeader{}
	for i := 0; i < MaxBatchBlobs; i++ {
		h.Blobs = append(h.Blobs, testBlob(fmt.Sprint("largest", i), uint64(1+i)))
	}
	return h
}

// allMessages is one of each type, in their richest and poorest forms.
func allMessages() []Message {
	h := mixedBatch() // N = 44
	root := h.Root()
	return []Message{
		testDisperseRequest(),
		&DisperseRequest{ChainID: strings.Repeat("c", MaxChainIDLen), Epoch: ^uint64(0), Quorum: ^uint32(0), Batch: *mixedBatch()},
		&DisperseResponse{OK: true, Signature: Signature{1, 2, 3}},
		&DisperseResponse{Code: CodeBadRows, Reason: "rows 1 and 7 do not match", Rows: []uint32{1, 7}},
		&DisperseResponse{Code: CodeUnknownEpoch, Reason: "epoch 9 has not started"},
		&DisperseResponse{Code: 999},
		&RowRequest{Root: root, Row: 15, WantHeader: true},
		&RowRequest{Root: root, Row: MaxDispersedRows - 1},
		&RowResponse{Root: root, Row: 43, Header: h, Data: testRow(9)},
		&RowResponse{Root: Hash{5}, Row: MaxDispersedRows - 1, Data: testRow(8)},
		&CellRequest{Root: root, Row: 3, Cell: CellsPerRow - 1, WantHeader: true},
		&CellRequest{Root: root, Row: 0, Cell: 0},
		&CellResponse{Root: root, Row: 3, Cell: CellsPerRow - 1, Header: h, Data: testRow(1)[:CellSize], Proof: [ProofSize]byte{0xc0}},
		&CellResponse{Root: Hash{6}, Row: MaxDispersedRows - 1, Cell: 0, Data: testRow(2)[:CellSize]},
		&ErrorMessage{Code: CodeNotFound, Reason: "no row 3 of that batch"},
		&ErrorMessage{Code: 999},
		&Busy{RetryAfterMillis: 250},
		&Busy{},
	}
}

// normalize makes empty lists nil, so that decoded and original messages
// compare with reflect.DeepEqual.
func normalize(m Message) Message {
	switch m := m.(type) {
	case *DisperseRequest:
		c := *m
		if len(c.Slices) == 0 {
			c.Slices = nil
		}
		return &c
	case *DisperseResponse:
		c := *m
		if len(c.Rows) == 0 {
			c.Rows = nil
		}
		return &c
	}
	return m
}

func TestWireRoundTrip(t *testing.T) {
	for i, m := range allMessages() {
		t.Run(fmt.Sprintf("%d-%s", i, m.Type()), func(t *testing.T) {
			b, err := EncodeMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != m.EncodedSize() {
				t.Fatalf("encoded %d bytes, EncodedSize says %d", len(b), m.EncodedSize())
			}
			if len(b) > MaxMessageSize(m.Type()) {
				t.Fatalf("%d bytes over the type's limit %d", len(b), MaxMessageSize(m.Type()))
			}
			if b[0] != WireVersion || MsgType(b[1]) != m.Type() {
				t.Fatalf("payload starts %x", b[:2])
			}
			got, err := DecodeMessage(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(m)) {
				t.Fatalf("decoded %+v, want %+v", got, m)
			}
			again, err := EncodeMessage(got)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs (%v)", err)
			}
			// AppendBinary appends.
			pre, err := m.AppendBinary([]byte("xy"))
			if err != nil || string(pre[:2]) != "xy" || !bytes.Equal(pre[2:], b) {
				t.Fatalf("AppendBinary does not append (%v)", err)
			}
			// Through a frame (a dispersal request is streamed).
			var buf bytes.Buffer
			if err := WriteFrame(&buf, m); err != nil {
				t.Fatal(err)
			}
			if binary.BigEndian.Uint32(buf.Bytes()) != uint32(len(b)) || !bytes.Equal(buf.Bytes()[4:], b) {
				t.Fatal("frame is not length ‖ payload")
			}
			fm, err := ReadMessage(&buf, MaxMessageSize(m.Type()))
			if err != nil {
				t.Fatal(err)
			}
			if fb, _ := EncodeMessage(fm); !bytes.Equal(fb, b) {
				t.Fatal("frame round trip differs")
			}
		})
	}
}

func TestWireDisperseRequestFields(t *testing.T) {
	m := testDisperseRequest()
	b, _ := EncodeMessage(m)
	// The layout of spec §5 by hand.
	var want []byte
	want = append(want, 2, 1, 9)
	want = append(want, "zgda-test"...)
	want = binary.BigEndian.AppendUint64(want, 7)
	want = binary.BigEndian.AppendUint32(want, 1)
	want = append(want, headerByHand(&m.Batch)...)
	want = binary.BigEndian.AppendUint32(want, 4)
	for _, s := range m.Slices {
		want = binary.BigEndian.AppendUint32(want, s.Row)
		want = append(want, s.Data...)
	}
	if !bytes.Equal(b, want) {
		t.Fatal("encoding is not spec §5's")
	}
	got, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	r := got.(*DisperseRequest)
	if r.ChainID != m.ChainID || r.Epoch != 7 || r.Quorum != 1 || len(r.Batch.Blobs) != 2 || len(r.Slices) != 4 {
		t.Fatalf("decoded %+v", r)
	}
	if err := r.Batch.Check(); err != nil || r.Batch.Root() != m.Batch.Root() || r.Batch.DispersedRows() != 12 {
		t.Fatalf("decoded header: %v", err)
	}
	if r.Slices[3].Row != 11 || !bytes.Equal(r.Slices[3].Data, testRow(4)) {
		t.Fatal("slice fields differ")
	}
}

// rawDisperse encodes m without the encoder's checks.
func rawDisperse(m *DisperseRequest) []byte {
	b := m.appendPrefix(nil)
	for _, s := range m.Slices {
		b = binary.BigEndian.AppendUint32(b, s.Row)
		b = append(b, s.Data...)
	}
	return b
}

// withBatch is testDisperseRequest with another batch header and no slices.
func withBatch(blobs ...BlobHeader) []byte {
	m := testDisperseRequest()
	m.Batch = BatchHeader{Blobs: blobs}
	m.Slices = nil
	return rawDisperse(m)
}

// rehashed is a blob header whose key is right for its (L, commitments),
// whatever its shape.
func rehashed(length uint64, rows uint32, ncomm int) BlobHeader {
	h := BlobHeader{Length: length, Rows: rows}
	for i := 0; i < ncomm; i++ {
		h.Commitments = append(h.Commitments, testComm("re", i))
	}
	h.Key = ComputeBlobKey(length, h.Commitments)
	return h
}

// Every way a message can be wrong is refused by the decoder with ErrWire
// (or ErrMessageTooLarge) and a reason.
func TestWireMalformed(t *testing.T) {
	enc := func(m Message) []byte {
		b, err := EncodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := enc(testDisperseRequest())
	mut := func(b []byte, f func(b []byte)) []byte {
		b = append([]byte(nil), b...)
		f(b)
		return b
	}
	// Offsets in the dispersal request: ver, type, len, chain id (9 bytes),
	// epoch, quorum, then the batch header (u16 B; blob 0: key, L, R, one
	// commitment; blob 1: key, L, R, two commitments), u32 m, slices.
	const (
		hdr   = 3 + 9 + 8 + 4
		blob0 = hdr + 2
		blob1 = blob0 + 44 + 48
		count = blob1 + 44 + 96
	)
	mixed := mixedBatch()
	rowResp := enc(&RowResponse{Root: mixed.Root(), Row: 43, Header: mixed, Data: testRow(0)})
	cellResp := enc(&CellResponse{Root: mixed.Root(), Row: 43, Cell: 5, Header: mixed, Data: testRow(0)[:CellSize]})
	cellRespNoHeader := enc(&CellResponse{Root: Hash{1}, Row: 3, Cell: 5, Data: testRow(0)[:CellSize]})
	// In the answers: ver, type, root (32), row (4) [, cell (2)], has_header,
	// then the header.
	const rowHdr = 2 + 32 + 4
	const cellHdr = rowHdr + 2
	cases := []struct {
		name, want string
		b          []byte
	}{
		{"empty", "at least", nil},
		{"one byte", "at least", []byte{2}},
		{"version 1", "version 1, want 2", mut(good, func(b []byte) { b[0] = 1 })},
		{"version 3", "version 3, want 2", mut(good, func(b []byte) { b[0] = 3 })},
		{"type 0", "unknown message type 0", []byte{2, 0, 0, 0}},
		{"type 9", "unknown message type 9", []byte{2, 9}},
		{"type 99", "unknown message type 99", mut(good, func(b []byte) { b[1] = 99 })},

		// DisperseRequest.
		{"truncated", "slices in", good[:len(good)-1]},
		{"truncated in the header", "truncated", good[:blob1+10]},
		{"trailing", "slices in", append(append([]byte(nil), good...), 0)},
		{"chain id empty", "chain id of 0 bytes", func() []byte {
			m := testDisperseRequest()
			m.ChainID = ""
			return rawDisperse(m)
		}()},
		{"chain id of 65 bytes", "chain id of 65 bytes", func() []byte {
			m := testDisperseRequest()
			m.ChainID = strings.Repeat("x", 65)
			return rawDisperse(m)
		}()},
		{"no blobs", "batch header of 0 blobs", withBatch()},
		{"257 blobs", "257 blobs", mut(good, func(b []byte) { binary.BigEndian.PutUint16(b[hdr:], 257) })},
		{"blob count too high", "blob header 2", mut(good, func(b []byte) { b[hdr+1] = 3 })},
		{"key does not hash", "hashes to", mut(good, func(b []byte) { b[blob0+44+20] ^= 1 })},
		{"key changed", "hashes to", mut(good, func(b []byte) { b[blob1] ^= 1 })},
		{"L changed", "hashes to", mut(good, func(b []byte) { b[blob1+39]++ })},
		{"R = 0", "0 rows", mut(good, func(b []byte) { binary.BigEndian.PutUint32(b[blob0+40:], 0) })},
		{"R = 257", "257 rows", mut(good, func(b []byte) { binary.BigEndian.PutUint32(b[blob0+40:], 257) })},
		{"R is not ceil(L/126976)", "2 rows for 1 bytes, want 1", withBatch(rehashed(1, 2, 2))},
		{"R below ceil(L/126976)", "1 rows for 126977 bytes, want 2", withBatch(rehashed(BytesPerRow+1, 1, 1))},
		{"L = 0", "length 0", withBatch(rehashed(0, 1, 1))},
		{"L over the maximum", "length 32505857", withBatch(rehashed(MaxBlobLength+1, 256, 256))},
		{"D = 257", "at most 256 in the batch", withBatch(testBlob("x", 200*BytesPerRow), testBlob("y", 57*BytesPerRow))},
		{"duplicate blob", "appears twice", withBatch(testBlob("x", 1), testBlob("y", 5), testBlob("x", 1))},
		{"zero key", "zero key", withBatch(func() BlobHeader { h := testBlob("x", 1); h.Key = BlobKey{}; return h }())},
		{"slices out of order", "is not after", func() []byte {
			m := testDisperseRequest()
			m.Slices[0], m.Slices[1] = m.Slices[1], m.Slices[0]
			return rawDisperse(m)
		}()},
		{"duplicate slice", "row 3 is not after row 3", func() []byte {
			m := testDisperseRequest()
			m.Slices[2].Row = 3
			return rawDisperse(m)
		}()},
		{"row = N", "row 12 of a batch of 12 dispersed rows", func() []byte {
			m := testDisperseRequest()
			m.Slices[3].Row = 12
			return rawDisperse(m)
		}()},
		{"row far beyond N", "row 4294967295", func() []byte {
			m := testDisperseRequest()
			m.Slices[3].Row = ^uint32(0)
			return rawDisperse(m)
		}()},
		{"more slices than N", "13 slices in", func() []byte {
			m := testDisperseRequest()
			m.Slices = nil
			for i := 0; i < 13; i++ {
				m.Slices = append(m.Slices, Slice{uint32(i), testRow(0)})
			}
			return rawDisperse(m)
		}()},
		{"slice count too high", "5 slices in", mut(good, func(b []byte) { b[count+3] = 5 })},
		{"slice count too low", "3 slices in", mut(good, func(b []byte) { b[count+3] = 3 })},
		{"slice count huge", "4294967295 slices", mut(good, func(b []byte) { binary.BigEndian.PutUint32(b[count:], ^uint32(0)) })},

		// DisperseResponse.
		{"response without status", "truncated", []byte{2, 2}},
		{"response status 2", "status 2", []byte{2, 2, 2}},
		{"response signature truncated", "truncated", append([]byte{2, 2, 0}, make([]byte, SignatureSize-1)...)},
		{"response signature trailing", "trailing", append([]byte{2, 2, 0}, make([]byte, SignatureSize+1)...)},
		{"response code 0", "code 0", []byte{2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"response rows count", "5 rows in 0 bytes", []byte{2, 2, 1, 0, 9, 0, 0, 0, 0, 0, 5}},
		{"response rows trailing", "1 rows in 5 bytes", []byte{2, 2, 1, 0, 9, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 9}},
		{"response 1025 rows", "1025 rows in 4100 bytes", append([]byte{2, 2, 1, 0, 9, 0, 0, 0, 0, 4, 1}, make([]byte, 4*1025)...)},
		{"response reason too long", "reason of 1025 bytes", append([]byte{2, 2, 1, 0, 9, 4, 1}, make([]byte, 100)...)},
		{"response reason truncated", "truncated", []byte{2, 2, 1, 0, 9, 0, 5, 'a', 'b'}},

		// RowRequest.
		{"row request row 1024", "row 1024", append(append([]byte{2, 3}, make([]byte, 32)...), 0, 0, 4, 0, 0)},
		{"row request flags", "flags 0x2", append(append([]byte{2, 3}, make([]byte, 32)...), 0, 0, 0, 1, 2)},
		{"row request truncated", "truncated", append([]byte{2, 3}, make([]byte, 36)...)},
		{"row request trailing", "trailing", append([]byte{2, 3}, make([]byte, 38)...)},

		// RowResponse.
		{"row response root differs", "a batch header with root", mut(rowResp, func(b []byte) { b[2] ^= 1 })},
		{"row response row = N", "row 44 of a batch with 44 dispersed rows", mut(rowResp, func(b []byte) { binary.BigEndian.PutUint32(b[34:], 44) })},
		{"row response row 1024", "row 1024", mut(enc(&RowResponse{Row: 3, Data: testRow(0)}), func(b []byte) { binary.BigEndian.PutUint32(b[34:], 1024) })},
		{"row response header flag 2", "header flag 2", mut(enc(&RowResponse{Row: 3, Data: testRow(0)}), func(b []byte) { b[rowHdr] = 2 })},
		{"row response header does not hash", "hashes to", mut(rowResp, func(b []byte) { b[rowHdr+1+2+44+5] ^= 1 })},
		{"row response header of 0 blobs", "0 blobs", mut(rowResp, func(b []byte) { b[rowHdr+1], b[rowHdr+2] = 0, 0 })},
		{"row response data truncated", "truncated", rowResp[:len(rowResp)-1]},
		{"row response trailing", "trailing", append(append([]byte(nil), rowResp...), 0)},

		// CellRequest.
		{"cell request cell 128", "cell 128", append(append([]byte{2, 5}, make([]byte, 32)...), 0, 0, 0, 1, 0, 128, 0)},
		{"cell request row 1024", "row 1024", append(append([]byte{2, 5}, make([]byte, 32)...), 0, 0, 4, 0, 0, 1, 0)},
		{"cell request flags", "flags 0x3", append(append([]byte{2, 5}, make([]byte, 32)...), 0, 0, 0, 1, 0, 1, 3)},

		// CellResponse.
		{"cell response cell 128", "cell 128", mut(cellRespNoHeader, func(b []byte) { binary.BigEndian.PutUint16(b[rowHdr:], 128) })},
		{"cell response root differs", "a batch header with root", mut(cellResp, func(b []byte) { b[33] ^= 0x80 })},
		{"cell response row = N", "row 44 of a batch", mut(cellResp, func(b []byte) { binary.BigEndian.PutUint32(b[34:], 44) })},
		{"cell response header does not hash", "hashes to", mut(cellResp, func(b []byte) { b[cellHdr+1+2+44+47] ^= 1 })},
		{"cell response proof truncated", "truncated", cellRespNoHeader[:len(cellRespNoHeader)-1]},
		{"cell response header flag 7", "header flag 7", mut(cellRespNoHeader, func(b []byte) { b[cellHdr] = 7 })},

		// Error and Busy.
		{"error code 0", "code 0", []byte{2, 7, 0, 0, 0, 0}},
		{"error reason too long", "reason of 1025 bytes", append([]byte{2, 7, 0, 1, 0x04, 0x01}, make([]byte, 100)...)},
		{"error reason truncated", "truncated", []byte{2, 7, 0, 1, 0, 3, 'a'}},
		{"error trailing", "trailing", []byte{2, 7, 0, 1, 0, 1, 'a', 'b'}},
		{"busy truncated", "truncated", []byte{2, 8, 0, 0}},
		{"busy trailing", "trailing", []byte{2, 8, 0, 0, 0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := DecodeMessage(c.b)
			if err == nil {
				t.Fatalf("decoded %T", m)
			}
			if !errors.Is(err, ErrWire) && !errors.Is(err, ErrMessageTooLarge) {
				t.Fatalf("error not marked: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// Every proper prefix of every message, and every message with a byte
// more, is refused.
func TestWireTruncatedAndTrailing(t *testing.T) {
	for i, m := range allMessages() {
		b, err := EncodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		step := 1
		if len(b) > 30000 {
			step = 997 // and the boundaries below
		}
		cut := func(n int) {
			if _, err := DecodeMessage(b[:n]); err == nil || !errors.Is(err, ErrWire) {
				t.Fatalf("message %d (%s): prefix of %d of %d bytes: %v", i, m.Type(), n, len(b), err)
			}
		}
		for n := 0; n < len(b); n += step {
			cut(n)
		}
		for n := max(0, len(b)-300); n < len(b); n++ {
			cut(n)
		}
		long := append(append([]byte(nil), b...), 0)
		if _, err := DecodeMessage(long); err == nil {
			t.Fatalf("message %d (%s): a trailing byte is accepted", i, m.Type())
		}
	}
}

// A DA node's answer carrying a header for another batch (same shape,
// another root) is malformed, while the bare row still decodes.
func TestWireAnswerHeaderRoot(t *testing.T) {
	a, b := mixedBatch(), testBatch(5, 6, 7, 8)
	if a.Root() == b.Root() {
		t.Fatal("roots")
	}
	m := &RowResponse{Root: a.Root(), Row: 0, Header: b, Data: testRow(0)}
	if _, err := EncodeMessage(m); !errors.Is(err, ErrWire) || !strings.Contains(err.Error(), "a batch header with root") {
		t.Fatalf("encoded an answer with another batch's header: %v", err)
	}
	m.Header = a
	enc, err := EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	// Splice b's header into a's answer.
	hb, _ := b.MarshalBinary()
	spliced := append(append(append([]byte(nil), enc[:2+32+4+1]...), hb...), testRow(0)...)
	if _, err := DecodeMessage(spliced); !errors.Is(err, ErrWire) || !strings.Contains(err.Error(), "a batch header with root") {
		t.Fatalf("spliced header: %v", err)
	}
	// A header with one blob's R (and so its key) changed: another root.
	c := mixedBatch()
	c.Blobs[1] = testBlob("blob-1", BytesPerRow+1) // R 1 → 2
	m.Header = c
	if _, err := EncodeMessage(m); !errors.Is(err, ErrWire) {
		t.Fatalf("header with one R changed: %v", err)
	}
}

func TestWireEncoderRefuses(t *testing.T) {
	h := testBatch(1) // N = 4
	root := h.Root()
	withSlices := func(ss ...Slice) *DisperseRequest {
		return &DisperseRequest{ChainID: "c", Batch: *h, Slices: ss}
	}
	cases := []struct {
		name string
		m    Message
	}{
		{"no chain id", &DisperseRequest{Batch: *h}},
		{"chain id of 65 bytes", &DisperseRequest{ChainID: strings.Repeat("c", 65), Batch: *h}},
		{"empty batch", &DisperseRequest{ChainID: "c"}},
		{"batch of bad shape", &DisperseRequest{ChainID: "c", Batch: BatchHeader{Blobs: []BlobHeader{rehashed(1, 2, 2)}}}},
		{"duplicate blob", &DisperseRequest{ChainID: "c", Batch: BatchHeader{Blobs: []BlobHeader{h.Blobs[0], h.Blobs[0]}}}},
		{"short row", withSlices(Slice{0, make([]byte, 10)})},
		{"long row", withSlices(Slice{0, make([]byte, RowSize+1)})},
		{"row = N", withSlices(Slice{4, testRow(0)})},
		{"rows out of order", withSlices(Slice{2, testRow(0)}, Slice{1, testRow(0)})},
		{"row repeated", withSlices(Slice{1, testRow(0)}, Slice{1, testRow(0)})},
		{"refusal without code", &DisperseResponse{Reason: "x"}},
		{"ok with reason", &DisperseResponse{OK: true, Reason: "x"}},
		{"ok with code", &DisperseResponse{OK: true, Code: CodeInternal}},
		{"ok with rows", &DisperseResponse{OK: true, Rows: []uint32{1}}},
		{"refusal with a signature", &DisperseResponse{Code: CodeInternal, Signature: Signature{1}}},
		{"long reason", &DisperseResponse{Code: CodeInternal, Reason: strings.Repeat("x", MaxReasonLen+1)}},
		{"1025 rows", &DisperseResponse{Code: CodeBadRows, Rows: make([]uint32, MaxDispersedRows+1)}},
		{"row request row 1024", &RowRequest{Row: MaxDispersedRows}},
		{"header of another batch", &RowResponse{Root: Hash{1}, Header: h, Data: testRow(0)}},
		{"row response row = N", &RowResponse{Root: root, Row: 4, Header: h, Data: testRow(0)}},
		{"row response row 1024", &RowResponse{Row: MaxDispersedRows, Data: testRow(0)}},
		{"row response short data", &RowResponse{Row: 1, Data: testRow(0)[:RowSize-1]}},
		{"row response header of bad shape", &RowResponse{Root: root, Header: &BatchHeader{}, Data: testRow(0)}},
		{"cell size", &CellResponse{Data: make([]byte, 5)}},
		{"cell response cell 128", &CellResponse{Cell: CellsPerRow, Data: make([]byte, CellSize)}},
		{"cell response header of another batch", &CellResponse{Root: Hash{1}, Header: h, Data: make([]byte, CellSize)}},
		{"cell request cell 128", &CellRequest{Cell: CellsPerRow}},
		{"cell request row 1024", &CellRequest{Row: MaxDispersedRows}},
		{"error code 0", &ErrorMessage{}},
		{"error reason too long", &ErrorMessage{Code: CodeInternal, Reason: strings.Repeat("x", MaxReasonLen+1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if b, err := EncodeMessage(c.m); !errors.Is(err, ErrWire) {
				t.Fatalf("encoded (%d bytes), or error not marked: %v", len(b), err)
			}
			var buf bytes.Buffer
			if err := WriteFrame(&buf, c.m); !errors.Is(err, ErrWire) {
				t.Fatalf("WriteFrame: %v", err)
			}
			if buf.Len() != 0 {
				t.Fatalf("WriteFrame wrote %d bytes of a refused message", buf.Len())
			}
		})
	}
}

// The limits of spec §5, and the largest message of each type meets its
// limit exactly.
func TestWireSizeLimits(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"batch header", MaxBatchHeaderSize, 23554},
		{"DisperseRequest", MaxDisperseRequestSize, 134245461},
		{"DisperseResponse", MaxDisperseResponseSize, 5131},
		{"RowRequest, CellRequest", MaxQuerySize, 64},
		{"RowResponse", MaxRowResponseSize, 154665},
		{"CellResponse", MaxCellResponseSize, 25691},
		{"Error, Busy", MaxErrorSize, 1030},
		{"any answer", MaxAnswerSize, 154665},
	} {
		if c.got != c.want {
			t.Errorf("%s: limit %d, spec %d", c.name, c.got, c.want)
		}
	}
	for ty, want := range map[MsgType]int{
		MsgDisperseRequest: 134245461, MsgDisperseResponse: 5131, MsgRowRequest: 64, MsgCellRequest: 64,
		MsgRowResponse: 154665, MsgCellResponse: 25691, MsgError: 1030, MsgBusy: 1030, 0: 0, 9: 0,
	} {
		if got := MaxMessageSize(ty); got != want {
			t.Errorf("MaxMessageSize(%s) = %d, want %d", ty, got, want)
		}
	}
	big := largestHeader()
	root := big.Root()
	reason := strings.Repeat("r", MaxReasonLen)
	rows := make([]uint32, MaxDispersedRows)
	for i := range rows {
		rows[i] = uint32(i)
	}
	for _, m := range []Message{
		&RowResponse{Root: root, Row: MaxDispersedRows - 1, Header: big, Data: testRow(0)},
		&CellResponse{Root: root, Row: MaxDispersedRows - 1, Cell: CellsPerRow - 1, Header: big, Data: make([]byte, CellSize)},
		&DisperseResponse{Code: CodeMissingRows, Reason: reason, Rows: rows},
		&ErrorMessage{Code: CodeInternal, Reason: reason},
	} {
		b, err := EncodeMessage(m)
		if err != nil {
			t.Fatalf("%s: %v", m.Type(), err)
		}
		if len(b) != MaxMessageSize(m.Type()) {
			t.Errorf("largest %s: %d bytes, limit %d", m.Type(), len(b), MaxMessageSize(m.Type()))
		}
		if _, err := DecodeMessage(b); err != nil {
			t.Errorf("largest %s: %v", m.Type(), err)
		}
		// One byte more is refused by its size, before decoding.
		over := append(append([]byte(nil), b...), 0)
		if _, err := DecodeMessage(over); !errors.Is(err, ErrMessageTooLarge) {
			t.Errorf("%s one byte over: %v", m.Type(), err)
		}
	}
	for _, ty := range []MsgType{MsgRowRequest, MsgCellRequest, MsgBusy, MsgError} {
		b := make([]byte, MaxMessageSize(ty)+1)
		b[0], b[1] = WireVersion, byte(ty)
		if _, err := DecodeMessage(b); !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "limit") {
			t.Errorf("oversized %s: %v", ty, err)
		}
	}
	// The largest dispersal request: a 64-byte chain id, the largest header,
	// all 1024 dispersed rows (sharing one buffer; WriteFrame streams them).
	row := testRow(7)
	dr := &DisperseRequest{ChainID: strings.Repeat("z", MaxChainIDLen), Batch: *big}
	for i := 0; i < MaxDispersedRows; i++ {
		dr.Slices = append(dr.Slices, Slice{uint32(i), row})
	}
	if dr.EncodedSize() != MaxDisperseRequestSize {
		t.Fatalf("largest dispersal request: %d bytes, limit %d", dr.EncodedSize(), MaxDisperseRequestSize)
	}
	if testing.Short() {
		cw := &countingWriter{}
		if err := WriteFrame(cw, dr); err != nil || cw.n != FrameHeaderSize+MaxDisperseRequestSize {
			t.Fatalf("WriteFrame: %d bytes (%v)", cw.n, err)
		}
		return
	}
	var buf bytes.Buffer
	buf.Grow(FrameHeaderSize + MaxDisperseRequestSize)
	if err := WriteFrame(&buf, dr); err != nil || buf.Len() != FrameHeaderSize+MaxDisperseRequestSize {
		t.Fatalf("WriteFrame: %d bytes (%v)", buf.Len(), err)
	}
	m, err := ReadMessage(&buf, MaxDisperseRequestSize)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*DisperseRequest); len(got.Slices) != MaxDispersedRows || !bytes.Equal(got.Slices[1023].Data, row) {
		t.Fatal("largest dispersal request decodes differently")
	}
}

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// Frames over the limit are refused from their length alone: nothing is
// read or allocated past the four-byte header.
func TestWireFrameLimits(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 1<<31)
	r := &countingReader{r: io.MultiReader(bytes.NewReader(hdr[:]), bytes.NewReader(make([]byte, 100)))}
	if _, err := ReadFrame(r, MaxDisperseRequestSize); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("2 GiB frame: %v", err)
	}
	if r.n != 4 {
		t.Fatalf("read %d bytes of a refused frame", r.n)
	}
	rr := &RowRequest{Row: 1}
	b, _ := EncodeMessage(rr)
	var buf bytes.Buffer
	WriteFrame(&buf, rr)
	if n, err := ReadFrameHeader(bytes.NewReader(buf.Bytes()), len(b)); err != nil || n != len(b) {
		t.Fatalf("header at the limit: %d %v", n, err)
	}
	if _, err := ReadFrame(bytes.NewReader(buf.Bytes()), len(b)-1); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("frame one byte over: %v", err)
	}
	// A query limit refuses a dispersal request by its length.
	buf.Reset()
	WriteFrame(&buf, testDisperseRequest())
	if _, err := ReadMessage(&buf, MaxQuerySize); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("dispersal request on a query limit: %v", err)
	}
	// Cut short, too short to hold a version and a type, empty.
	buf.Reset()
	WriteFrame(&buf, &Busy{RetryAfterMillis: 1})
	if _, err := ReadFrame(bytes.NewReader(buf.Bytes()[:buf.Len()-1]), 100); !errors.Is(err, ErrWire) {
		t.Fatalf("short frame: %v", err)
	}
	for _, f := range [][]byte{{0, 0, 0, 1, 2}, {0, 0, 0, 0}} {
		if _, err := ReadFrame(bytes.NewReader(f), 100); !errors.Is(err, ErrWire) {
			t.Fatalf("frame %x: %v", f, err)
		}
	}
	if _, err := ReadFrame(bytes.NewReader(nil), 100); !errors.Is(err, io.EOF) {
		t.Fatalf("empty stream: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0}), 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("half a header: %v", err)
	}
	// A frame that holds a malformed message.
	if _, err := ReadMessage(bytes.NewReader([]byte{0, 0, 0, 2, 1, 8}), 100); !errors.Is(err, ErrWire) {
		t.Fatalf("version 1 in a frame: %v", err)
	}
	// Two frames back to back are read one at a time.
	buf.Reset()
	WriteFrame(&buf, &Busy{RetryAfterMillis: 1})
	WriteFrame(&buf, &ErrorMessage{Code: CodeBusy, Reason: "x"})
	m1, err1 := ReadMessage(&buf, MaxAnswerSize)
	m2, err2 := ReadMessage(&buf, MaxAnswerSize)
	if err1 != nil || err2 != nil || m1.Type() != MsgBusy || m2.Type() != MsgError || buf.Len() != 0 {
		t.Fatalf("two frames: %v %v", err1, err2)
	}
}

func TestRefusalError(t *testing.T) {
	r := &DisperseResponse{Code: CodeBadRows, Reason: "2 rows do not verify", Rows: []uint32{3, 7}}
	err := r.Err()
	var re *RefusalError
	if !errors.As(err, &re) || re.Code != CodeBadRows || !reflect.DeepEqual(re.Rows, []uint32{3, 7}) {
		t.Fatalf("%v", err)
	}
	if s := err.Error(); s != "refused (bad-rows): 2 rows do not verify; rows 3 7" {
		t.Fatalf("%q", s)
	}
	many := &DisperseResponse{Code: CodeMissingRows, Reason: "x", Rows: make([]uint32, 20)}
	for i := range many.Rows {
		many.Rows[i] = uint32(i)
	}
	if s := many.Err().Error(); s != "refused (missing-rows): x; rows 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 … (20 in all)" {
		t.Fatalf("%q", s)
	}
	if s := (&DisperseResponse{Code: 99, Reason: "?"}).Err().Error(); s != "refused (code-99): ?" {
		t.Fatalf("%q", s)
	}
	em := (&ErrorMessage{Code: CodeNotFound, Reason: "no such batch"}).Err()
	if !errors.As(em, &re) || re.Code != CodeNotFound || re.Rows != nil || em.Error() != "refused (not-found): no such batch" {
		t.Fatalf("%v", em)
	}
	if (&DisperseResponse{OK: true}).Err() != nil {
		t.Fatal("a signature is not an error")
	}
	seen := map[string]bool{}
	for c := CodeMalformed; c <= CodeOverQuota; c++ {
		s := c.String()
		if strings.HasPrefix(s, "code-") || seen[s] {
			t.Errorf("code %d renders %q", c, s)
		}
		seen[s] = true
	}
	if ErrorCode(0).String() != "code-0" || ErrorCode(16).String() != "code-16" {
		t.Error("unknown codes")
	}
	for ty := MsgDisperseRequest; ty <= MsgBusy; ty++ {
		if strings.HasPrefix(ty.String(), "type-") {
			t.Errorf("type %d renders %q", ty, ty)
		}
	}
	if MsgType(99).String() != "type-99" {
		t.Error("unknown type")
	}
	if (Commitment{0xab}).String()[:4] != "0xab" {
		t.Error("commitment text")
	}
}

// fuzzWire checks that decoding never panics, that failures are marked, and
// that whatever decodes re-encodes to the same bytes.
func fuzzWire(f *testing.F, seeds ...Message) {
	for _, m := range seeds {
		b, err := EncodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{WireVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrWire) && !errors.Is(err, ErrMessageTooLarge) {
				t.Fatalf("error not marked: %v", err)
			}
			return
		}
		if m.EncodedSize() != len(b) {
			t.Fatalf("%T: EncodedSize %d of %d bytes", m, m.EncodedSize(), len(b))
		}
		out, err := EncodeMessage(m)
		if err != nil {
			t.Fatalf("decoded %T does not encode: %v", m, err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("%T: encoding is not canonical", m)
		}
		var buf bytes.Buffer
		if err := WriteFrame(&buf, m); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadMessage(&buf, len(b)); err != nil {
			t.Fatal(err)
		}
	})
}

func seedsOf(t MsgType) []Message {
	var out []Message
	for _, m := range allMessages() {
		if m.Type() == t {
			out = append(out, m)
		}
	}
	return out
}

func FuzzWireDisperseRequest(f *testing.F) {
	small := &DisperseRequest{ChainID: "c", Batch: *testBatch(1), Slices: []Slice{{2, testRow(0)}}}
	fuzzWire(f, append(seedsOf(MsgDisperseRequest), small)...)
}
func FuzzWireDisperseResponse(f *testing.F) { fuzzWire(f, seedsOf(MsgDisperseResponse)...) }
func FuzzWireRowRequest(f *testing.F)       { fuzzWire(f, seedsOf(MsgRowRequest)...) }
func FuzzWireRowResponse(f *testing.F)      { fuzzWire(f, seedsOf(MsgRowResponse)...) }
func FuzzWireCellRequest(f *testing.F)      { fuzzWire(f, seedsOf(MsgCellRequest)...) }
func FuzzWireCellResponse(f *testing.F)     { fuzzWire(f, seedsOf(MsgCellResponse)...) }
func FuzzWireError(f *testing.F)            { fuzzWire(f, seedsOf(MsgError)...) }
func FuzzWireBusy(f *testing.F)             { fuzzWire(f, seedsOf(MsgBusy)...) }

// FuzzReadFrame feeds arbitrary streams to the frame reader: no panic, a
// message or an error, and a message only from a frame that fits.
func FuzzReadFrame(f *testing.F) {
	for _, m := range []Message{&Busy{RetryAfterMillis: 3}, &ErrorMessage{Code: 1, Reason: "x"}, &RowRequest{Row: 2, WantHeader: true}} {
		var buf bytes.Buffer
		WriteFrame(&buf, m)
		f.Add(buf.Bytes())
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadMessage(bytes.NewReader(b), MaxAnswerSize)
		if err == nil && m == nil {
			t.Fatal("nil message without an error")
		}
		if err == nil && (len(b) < FrameHeaderSize || int(binary.BigEndian.Uint32(b)) != m.EncodedSize()) {
			t.Fatal("message of another length than its frame")
		}
		p, err := ReadFrame(bytes.NewReader(b), MaxAnswerSize)
		if err == nil && (len(p) < 2 || len(p) > MaxAnswerSize || len(p) > len(b)-FrameHeaderSize) {
			t.Fatalf("frame payload of %d bytes from %d", len(p), len(b))
		}
	})
}
