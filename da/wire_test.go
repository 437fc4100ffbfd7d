package da

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func testHeader(tag string, rows uint32) BlobHeader {
	h := BlobHeader{Key: BlobKey(sha256.Sum256([]byte(tag))), Length: uint64(rows) * 126976, Rows: rows}
	for i := uint32(0); i < rows; i++ {
		var c Commitment
		c[0] = 0xa0
		c[1] = byte(i)
		copy(c[2:], tag)
		h.Commitments = append(h.Commitments, c)
	}
	return h
}

func testRow(seed byte) []byte {
	b := make([]byte, RowSize)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

func testDisperseRequest() *DisperseRequest {
	return &DisperseRequest{
		ChainID: "zgda-test",
		Epoch:   7,
		Quorum:  1,
		Headers: []BlobHeader{testHeader("a", 1), testHeader("b", 2)},
		Slices: []Slice{
			{SliceRef{0, 1}, testRow(1)},
			{SliceRef{0, 3}, testRow(2)},
			{SliceRef{1, 0}, testRow(3)},
			{SliceRef{1, 7}, testRow(4)},
		},
	}
}

// allMessages is one of each type, in their richest form.
func allMessages() []Message {
	h := testHeader("c", 4)
	return []Message{
		testDisperseRequest(),
		&DisperseResponse{OK: true, Signature: Signature{1, 2, 3}},
		&DisperseResponse{Code: CodeBadRows, Reason: "row (0, 1) does not match C_1", Rows: []SliceRef{{0, 1}, {1, 7}}},
		&DisperseResponse{Code: CodeUnknownEpoch, Reason: "epoch 9 has not started"},
		&RowRequest{Key: h.Key, Row: 15, WantHeader: true},
		&RowRequest{Key: h.Key, Row: 1023},
		&RowResponse{Key: h.Key, Row: 15, Header: &h, Data: testRow(9)},
		&RowResponse{Key: h.Key, Row: 1023, Data: testRow(8)},
		&CellRequest{Key: h.Key, Row: 3, Cell: 127, WantHeader: true},
		&CellResponse{Key: h.Key, Row: 3, Cell: 127, Header: &h, Data: testRow(1)[:CellSize], Proof: [ProofSize]byte{0xc0}},
		&CellResponse{Key: h.Key, Row: 3, Cell: 0, Data: testRow(2)[:CellSize]},
		&ErrorMessage{Code: CodeNotFound, Reason: "no row 3 of that blob"},
		&Busy{RetryAfterMillis: 250},
	}
}

func TestWireRoundTrip(t *testing.T) {
	for _, m := range allMessages() {
		t.Run(m.Type().String(), func(t *testing.T) {
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
			got, err := DecodeMessage(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Type() != m.Type() {
				t.Fatalf("type %v, want %v", got.Type(), m.Type())
			}
			again, err := EncodeMessage(got)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs (%v)", err)
			}
			// Through a frame, streamed or not.
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
	got, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	r := got.(*DisperseRequest)
	if r.ChainID != m.ChainID || r.Epoch != 7 || r.Quorum != 1 || len(r.Headers) != 2 || len(r.Slices) != 4 {
		t.Fatalf("decoded %+v", r)
	}
	if r.Headers[1].Rows != 2 || r.Headers[1].Commitments[1] != m.Headers[1].Commitments[1] || r.Headers[1].Key != m.Headers[1].Key {
		t.Fatal("header fields differ")
	}
	if r.Slices[3].Blob != 1 || r.Slices[3].Row != 7 || !bytes.Equal(r.Slices[3].Data, testRow(4)) {
		t.Fatal("slice fields differ")
	}
	if k := r.Keys(); len(k) != 2 || k[0] != m.Headers[0].Key {
		t.Fatal("keys")
	}
}

// Every way a message can be wrong is refused with ErrWire (or
// ErrMessageTooLarge) and a reason, by the encoder and the decoder alike.
func TestWireMalformed(t *testing.T) {
	enc := func(m Message) []byte {
		b, err := EncodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := enc(testDisperseRequest())
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	// Offsets in the dispersal request: ver, type, len, chain id (9), epoch,
	// quorum, n, then the first header.
	hdr0 := 3 + 9 + 8 + 4 + 2
	cases := []struct {
		name, want string
		b          []byte
	}{
		{"empty", "at least", nil},
		{"one byte", "at least", []byte{1}},
		{"version", "version 2", mut(func(b []byte) []byte { b[0] = 2; return b })},
		{"type", "unknown message type 99", mut(func(b []byte) []byte { b[1] = 99; return b })},
		{"truncated", "want", good[:len(good)-1]},
		{"trailing", "slices in", append(append([]byte(nil), good...), 0)},
		{"no blobs", "0 blobs", mut(func(b []byte) []byte { b[hdr0-2], b[hdr0-1] = 0, 0; return b })},
		{"K not power of two", "K = 3", mut(func(b []byte) []byte { b[hdr0+32+8+3] = 3; return b })},
		{"K too large", "K = 512", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[hdr0+32+8:], 512); return b })},
		{"length zero", "length 0", mut(func(b []byte) []byte { binary.BigEndian.PutUint64(b[hdr0+32:], 0); return b })},
		{"length over max", "want 1 to", mut(func(b []byte) []byte { binary.BigEndian.PutUint64(b[hdr0+32:], MaxBlobLength+1); return b })},
		{"slices out of order", "is not after", func() []byte {
			m := testDisperseRequest()
			m.Slices[0], m.Slices[1] = m.Slices[1], m.Slices[0]
			m.Slices[0].Data, m.Slices[1].Data = m.Slices[1].Data, m.Slices[0].Data
			return rawDisperse(m)
		}()},
		{"duplicate slice", "is not after", func() []byte {
			m := testDisperseRequest()
			m.Slices[1].Row = 1
			return rawDisperse(m)
		}()},
		{"row beyond 4K", "row 4 of blob 0", func() []byte {
			m := testDisperseRequest()
			m.Slices[1].Row = 4
			return rawDisperse(m)
		}()},
		{"slice of no blob", "blob 2 of 2", func() []byte {
			m := testDisperseRequest()
			m.Slices[3].Blob = 2
			return rawDisperse(m)
		}()},
		{"duplicate blob", "appears twice", func() []byte {
			m := testDisperseRequest()
			m.Headers[1] = testHeader("a", 1)
			m.Slices = m.Slices[:2]
			return rawDisperse(m)
		}()},
		{"response status", "status 2", []byte{1, 2, 2}},
		{"response code 0", "code 0", []byte{1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"response rows count", "rows in", []byte{1, 2, 1, 0, 9, 0, 0, 0, 0, 0, 5}},
		{"row request row", "row 1024", append(append([]byte{1, 3}, make([]byte, 32)...), 0, 0, 4, 0, 0)},
		{"row request flags", "flags", append(append([]byte{1, 3}, make([]byte, 32)...), 0, 0, 0, 1, 2)},
		{"cell request cell", "cell 128", append(append([]byte{1, 5}, make([]byte, 32)...), 0, 0, 0, 1, 0, 128, 0)},
		{"row response header of 1 row, row 4", "row 4 of a blob with 4", func() []byte {
			h := testHeader("x", 1)
			m := &RowResponse{Key: h.Key, Row: 4, Header: &h, Data: testRow(0)}
			b, err := m.AppendBinary(nil)
			if err == nil {
				t.Fatal("encoder accepted row 4 of K=1")
			}
			// Build it by hand from a valid one with row 3.
			m.Row = 3
			b, _ = m.AppendBinary(nil)
			binary.BigEndian.PutUint32(b[34:], 4)
			return b
		}()},
		{"error code 0", "code 0", []byte{1, 7, 0, 0, 0, 0}},
		{"error reason too long", "error of 2006 bytes", append([]byte{1, 7, 0, 1, 0x07, 0xd0}, make([]byte, 2000)...)},
		{"busy truncated", "truncated", []byte{1, 8, 0, 0}},
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

// rawDisperse encodes m without the encoder's checks.
func rawDisperse(m *DisperseRequest) []byte {
	b := m.appendPrefix(nil)
	for _, s := range m.Slices {
		b = binary.BigEndian.AppendUint16(b, s.Blob)
		b = binary.BigEndian.AppendUint32(b, s.Row)
		b = append(b, s.Data...)
	}
	return b
}

func TestWireEncoderRefuses(t *testing.T) {
	h := testHeader("a", 1)
	cases := []struct {
		name string
		m    Message
	}{
		{"no chain id", &DisperseRequest{Headers: []BlobHeader{h}}},
		{"short row", &DisperseRequest{ChainID: "c", Headers: []BlobHeader{h}, Slices: []Slice{{SliceRef{0, 0}, make([]byte, 10)}}}},
		{"commitments != K", &DisperseRequest{ChainID: "c", Headers: []BlobHeader{{Key: h.Key, Length: 1, Rows: 2, Commitments: h.Commitments}}}},
		{"refusal without code", &DisperseResponse{Reason: "x"}},
		{"ok with reason", &DisperseResponse{OK: true, Reason: "x"}},
		{"long reason", &DisperseResponse{Code: CodeInternal, Reason: strings.Repeat("x", MaxReasonLen+1)}},
		{"header of another blob", &RowResponse{Key: BlobKey{1}, Header: &h, Data: testRow(0)}},
		{"cell size", &CellResponse{Key: h.Key, Data: make([]byte, 5)}},
		{"cell index", &CellRequest{Cell: 128}},
		{"error code 0", &ErrorMessage{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := EncodeMessage(c.m); !errors.Is(err, ErrWire) {
				t.Fatalf("encoded, or error not marked: %v", err)
			}
			if err := WriteFrame(io.Discard, c.m); err == nil {
				t.Fatal("WriteFrame accepted it")
			}
		})
	}
}

// Frames over the limit are refused from their length alone: nothing is
// read or allocated past the four-byte header.
func TestWireFrameLimits(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 1<<31)
	r := &countingReader{r: bytes.NewReader(hdr[:])}
	if _, err := ReadFrame(r, MaxDisperseRequestSize); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("2 GiB frame: %v", err)
	}
	b, _ := EncodeMessage(&RowRequest{Row: 1})
	var buf bytes.Buffer
	WriteFrame(&buf, &RowRequest{Row: 1})
	if _, err := ReadFrame(bytes.NewReader(buf.Bytes()), len(b)-1); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("frame one byte over: %v", err)
	}
	// A small-request limit refuses a dispersal request by its length.
	buf.Reset()
	WriteFrame(&buf, testDisperseRequest())
	if _, err := ReadMessage(&buf, MaxQuerySize); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("dispersal request on a query limit: %v", err)
	}
	// A frame whose type's own limit is smaller than the frame.
	big := append([]byte{1, 3}, make([]byte, 100)...)
	if _, err := DecodeMessage(big); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized row request: %v", err)
	}
	// Cut short.
	buf.Reset()
	WriteFrame(&buf, &Busy{RetryAfterMillis: 1})
	if _, err := ReadFrame(bytes.NewReader(buf.Bytes()[:buf.Len()-1]), 100); !errors.Is(err, ErrWire) {
		t.Fatalf("short frame: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 1, 1}), 100); !errors.Is(err, ErrWire) {
		t.Fatalf("one-byte frame: %v", err)
	}
	// An oversized dispersal request cannot be written either.
	m := testDisperseRequest()
	m.Headers = []BlobHeader{testHeader("big", 256)}
	m.Slices = nil
	for i := 0; i < 520; i++ {
		m.Slices = append(m.Slices, Slice{SliceRef{0, uint32(i)}, testRow(0)})
	}
	if err := WriteFrame(io.Discard, m); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized request: %v", err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestRefusalError(t *testing.T) {
	r := &DisperseResponse{Code: CodeBadRows, Reason: "1 row does not verify", Rows: []SliceRef{{0, 3}}}
	err := r.Err()
	var re *RefusalError
	if !errors.As(err, &re) || re.Code != CodeBadRows {
		t.Fatalf("%v", err)
	}
	if s := err.Error(); !strings.Contains(s, "bad-rows") || !strings.Contains(s, "(blob 0, row 3)") {
		t.Fatalf("%q", s)
	}
	if (&DisperseResponse{OK: true}).Err() != nil {
		t.Fatal("a signature is not an error")
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
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrWire) && !errors.Is(err, ErrMessageTooLarge) {
				t.Fatalf("error not marked: %v", err)
			}
			return
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
	small := &DisperseRequest{ChainID: "c", Headers: []BlobHeader{testHeader("s", 1)}}
	fuzzWire(f, append(seedsOf(MsgDisperseRequest), small)...)
}
func FuzzWireDisperseResponse(f *testing.F) { fuzzWire(f, seedsOf(MsgDisperseResponse)...) }
func FuzzWireRowRequest(f *testing.F)       { fuzzWire(f, seedsOf(MsgRowRequest)...) }
func FuzzWireRowResponse(f *testing.F)      { fuzzWire(f, seedsOf(MsgRowResponse)...) }
func FuzzWireCellRequest(f *testing.F)      { fuzzWire(f, seedsOf(MsgCellRequest)...) }
func FuzzWireCellResponse(f *testing.F)     { fuzzWire(f, seedsOf(MsgCellResponse)...) }
func FuzzWireError(f *testing.F)            { fuzzWire(f, seedsOf(MsgError)...) }
func FuzzWireBusy(f *testing.F)             { fuzzWire(f, seedsOf(MsgBusy)...) }

// FuzzReadFrame feeds arbitrary streams to the frame reader.
func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	WriteFrame(&buf, &Busy{RetryAfterMillis: 3})
	f.Add(buf.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadMessage(bytes.NewReader(b), MaxAnswerSize)
		if err == nil && m == nil {
			t.Fatal("nil message without an error")
		}
	})
}
