package da

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The DA node wire protocol (docs/spec.md §5): what a disperser and a DA node say
// to each other over libp2p streams. One request and one answer per stream,
// each a frame
//
//	u32_be length ‖ payload
//
// whose payload is u8 version (WireVersion) ‖ u8 type ‖ body. Integers are
// big-endian. Decoding is strict (exact lengths, canonical order, no trailing
// bytes) so every message has one encoding, and it never panics: every
// length is checked against what is left and against the type's limit before
// anything is allocated.

// Protocol IDs of the DA node's libp2p stream handlers.
const (
	ProtocolDisperse = "/zgda/disperse/2.0.0"
	ProtocolRow      = "/zgda/row/2.0.0"
	ProtocolCell     = "/zgda/cell/2.0.0"
)

// Sizes and limits of the wire codec.
const (
	// WireVersion is the first byte of every message payload.
	WireVersion = 2

	CommitmentSize = 48        // a compressed G1 point (KZG commitment)
	ProofSize      = 48        // a compressed G1 point (KZG proof)
	RowSize        = 4096 * 32 // a row: 4096 field elements, 32-byte big-endian each
	CellSize       = 64 * 32   // an EIP-7594 cell: 64 field elements
	CellsPerRow    = 128

	// FrameHeaderSize is the length prefix of a frame.
	FrameHeaderSize = 4
	// MaxBatchHeaderSize bounds an encoded batch header: 256 blobs of one
	// row each is the largest.
	MaxBatchHeaderSize = 2 + MaxBatchBlobs*(32+blobFixed) + MaxBatchRows*CommitmentSize
	// MaxDisperseRequestSize bounds a dispersal request: the batch header and
	// every dispersed row of the largest batch once (a node holding more
	// window slots than rows still gets each row once).
	MaxDisperseRequestSize = 2 + 1 + MaxChainIDLen + 8 + 4 + MaxBatchHeaderSize + 4 + MaxDispersedRows*(sliceFixed+RowSize)
	// MaxDisperseResponseSize bounds a dispersal answer (reason and row list).
	MaxDisperseResponseSize = 3 + 2 + 2 + MaxReasonLen + 4 + MaxDispersedRows*sliceFixed
	// MaxQuerySize bounds row and cell requests.
	MaxQuerySize = 64
	// MaxRowResponseSize and MaxCellResponseSize bound the answers to them
	// (with the largest batch header).
	MaxRowResponseSize  = 2 + 32 + 4 + 1 + MaxBatchHeaderSize + RowSize
	MaxCellResponseSize = 2 + 32 + 4 + 2 + 1 + MaxBatchHeaderSize + CellSize + ProofSize
	// MaxErrorSize bounds an error or busy answer.
	MaxErrorSize = 2 + 2 + 2 + MaxReasonLen
	// MaxAnswerSize bounds every answer a client reads (the largest of the
	// answer limits).
	MaxAnswerSize = MaxRowResponseSize

	// MaxChainIDLen bounds the chain id of a request.
	MaxChainIDLen = 64
	// MaxReasonLen bounds the reason text of a refusal, in bytes.
	MaxReasonLen = 1024

	blobFixed  = 8 + 4 // u64 length ‖ u32 R, after the key
	sliceFixed = 4     // u32 row
)

// Errors of the wire codec.
var (
	// ErrWire marks every message that does not decode.
	ErrWire = errors.New("da: malformed wire message")
	// ErrMessageTooLarge marks a frame or message over its limit.
	ErrMessageTooLarge = errors.New("da: wire message too large")
)

// MsgType is a message's second byte.
type MsgType uint8

// Message types.
const (
	MsgDisperseRequest  MsgType = 1
	MsgDisperseResponse MsgType = 2
	MsgRowRequest       MsgType = 3
	MsgRowResponse      MsgType = 4
	MsgCellRequest      MsgType = 5
	MsgCellResponse     MsgType = 6
	MsgError            MsgType = 7
	MsgBusy             MsgType = 8
)

func (t MsgType) String() string {
	switch t {
	case MsgDisperseRequest:
		return "disperse-request"
	case MsgDisperseResponse:
		return "disperse-response"
	case MsgRowRequest:
		return "row-request"
	case MsgRowResponse:
		return "row-response"
	case MsgCellRequest:
		return "cell-request"
	case MsgCellResponse:
		return "cell-response"
	case MsgError:
		return "error"
	case MsgBusy:
		return "busy"
	}
	return fmt.Sprintf("type-%d", uint8(t))
}

// MaxMessageSize is the largest payload of type t (0 for an unknown type).
func MaxMessageSize(t MsgType) int {
	switch t {
	case MsgDisperseRequest:
		return MaxDisperseRequestSize
	case MsgDisperseResponse:
		return MaxDisperseResponseSize
	case MsgRowRequest, MsgCellRequest:
		return MaxQuerySize
	case MsgRowResponse:
		return MaxRowResponseSize
	case MsgCellResponse:
		return MaxCellResponseSize
	case MsgError, MsgBusy:
		return MaxErrorSize
	}
	return 0
}

// ErrorCode says why a DA node refused a request.
type ErrorCode uint16

// Refusal codes.
const (
	CodeMalformed     ErrorCode = 1  // the request does not decode
	CodeTooLarge      ErrorCode = 2  // over the size limit
	CodeWrongChain    ErrorCode = 3  // another chain id
	CodeUnknownEpoch  ErrorCode = 4  // an epoch not started, unknown or too old
	CodeUnknownQuorum ErrorCode = 5  // no such quorum in the epoch
	CodeBadHeader     ErrorCode = 6  // a batch header, blob key, length or R that does not check out
	CodeNotHeld       ErrorCode = 7  // rows for slots this node does not hold
	CodeMissingRows   ErrorCode = 8  // rows this node holds that were not sent
	CodeBadRows       ErrorCode = 9  // rows that do not match their commitments
	CodeNotFound      ErrorCode = 10 // a row or blob the node does not store
	CodeBusy          ErrorCode = 11 // over the node's concurrency or memory bound
	CodeInternal      ErrorCode = 12 // the node failed (storage, chain)
	CodeNotInQuorum   ErrorCode = 13 // the node holds no slot of the batch
	CodeUnregistered  ErrorCode = 14 // the dispersing peer is not a registered disperser
	CodeOverQuota     ErrorCode = 15 // the batch would take the disperser past its epoch quota
)

func (c ErrorCode) String() string {
	switch c {
	case CodeMalformed:
		return "malformed"
	case CodeTooLarge:
		return "too-large"
	case CodeWrongChain:
		return "wrong-chain"
	case CodeUnknownEpoch:
		return "unknown-epoch"
	case CodeUnknownQuorum:
		return "unknown-quorum"
	case CodeBadHeader:
		return "bad-header"
	case CodeNotHeld:
		return "not-held"
	case CodeMissingRows:
		return "missing-rows"
	case CodeBadRows:
		return "bad-rows"
	case CodeNotFound:
		return "not-found"
	case CodeBusy:
		return "busy"
	case CodeInternal:
		return "internal"
	case CodeNotInQuorum:
		return "not-in-quorum"
	case CodeUnregistered:
		return "unregistered"
	case CodeOverQuota:
		return "over-quota"
	}
	return fmt.Sprintf("code-%d", uint16(c))
}

// Commitment is a compressed G1 point: a KZG row commitment (the kzg package
// parses and checks it).
type Commitment [CommitmentSize]byte

// String renders the commitment as 0x-prefixed lowercase hex.
func (c Commitment) String() string { return "0x" + hex.EncodeToString(c[:]) }

// Message is one decoded wire message: *DisperseRequest, *DisperseResponse,
// *RowRequest, *RowResponse, *CellRequest, *CellResponse, *ErrorMessage or
// *Busy.
type Message interface {
	Type() MsgType
	// EncodedSize is the payload length.
	EncodedSize() int
	// AppendBinary appends the payload; it fails on a message the decoder
	// would refuse, so every encoding decodes.
	AppendBinary(b []byte) ([]byte, error)
}

// EncodeMessage returns m's payload.
func EncodeMessage(m Message) ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, m.EncodedSize()))
}

// DecodeMessage decodes a payload of any type. Large byte fields of the
// result (rows, cells) alias b: the caller must not modify b while using it.
func DecodeMessage(b []byte) (Message, error) {
	if len(b) < 2 {
		return nil, wireErr("message of %d bytes: want at least a version and a type", len(b))
	}
	if b[0] != WireVersion {
		return nil, wireErr("version %d, want %d", b[0], WireVersion)
	}
	t := MsgType(b[1])
	if max := MaxMessageSize(t); max == 0 {
		return nil, wireErr("unknown message type %d", b[1])
	} else if len(b) > max {
		return nil, fmt.Errorf("%w: %s of %d bytes, limit %d", ErrMessageTooLarge, t, len(b), max)
	}
	var m interface {
		Message
		decode(r *reader) error
	}
	switch t {
	case MsgDisperseRequest:
		m = new(DisperseRequest)
	case MsgDisperseResponse:
		m = new(DisperseResponse)
	case MsgRowRequest:
		m = new(RowRequest)
	case MsgRowResponse:
		m = new(RowResponse)
	case MsgCellRequest:
		m = new(CellRequest)
	case MsgCellResponse:
		m = new(CellResponse)
	case MsgError:
		m = new(ErrorMessage)
	case MsgBusy:
		m = new(Busy)
	}
	r := &reader{b: b[2:]}
	if err := m.decode(r); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrWire, t, err)
	}
	if len(r.b) != 0 {
		return nil, wireErr("%s: %d trailing bytes", t, len(r.b))
	}
	return m, nil
}

func wireErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrWire, fmt.Sprintf(format, args...))
}

// markWire marks a structural error found while encoding with ErrWire
// (oversized messages are already marked ErrMessageTooLarge).
func markWire(err error) error {
	if errors.Is(err, ErrMessageTooLarge) || errors.Is(err, ErrWire) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrWire, err)
}

// --- batch headers and slices ---

// batchHeaderSize is the encoded size of h.
func batchHeaderSize(h *BatchHeader) int {
	n := 2
	for i := range h.Blobs {
		n += 32 + blobFixed + len(h.Blobs[i].Commitments)*CommitmentSize
	}
	return n
}

// appendBatchHeader appends
//
//	u16 n ‖ n × (blob_key[32] ‖ u64 L ‖ u32 R ‖ R × commitment[48])
func appendBatchHeader(b []byte, h *BatchHeader) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Blobs)))
	for i := range h.Blobs {
		bh := &h.Blobs[i]
		b = append(b, bh.Key[:]...)
		b = binary.BigEndian.AppendUint64(b, bh.Length)
		b = binary.BigEndian.AppendUint32(b, bh.Rows)
		for _, c := range bh.Commitments {
			b = append(b, c[:]...)
		}
	}
	return b
}

// decodeBatchHeader reads a batch header and checks its shape; its callers
// check the key hashes (Check) once the message is whole, so a header that
// decodes is one a receiver can trust to name its blobs.
func decodeBatchHeader(r *reader) (*BatchHeader, error) {
	n := int(r.u16())
	if r.err != nil {
		return nil, r.err
	}
	if n == 0 || n > MaxBatchBlobs {
		return nil, fmt.Errorf("batch header of %d blobs, want 1 to %d", n, MaxBatchBlobs)
	}
	if r.left() < n*(32+blobFixed+CommitmentSize) {
		return nil, fmt.Errorf("truncated: %d blob headers in %d bytes", n, r.left())
	}
	h := &BatchHeader{Blobs: make([]BlobHeader, n)}
	d := 0
	for i := range h.Blobs {
		bh := &h.Blobs[i]
		copy(bh.Key[:], r.bytes(32))
		bh.Length = r.u64()
		bh.Rows = r.u32()
		if r.err != nil {
			return nil, r.err
		}
		if bh.Rows == 0 || bh.Rows > MaxBlobRows || d+int(bh.Rows) > MaxBatchRows {
			return nil, fmt.Errorf("blob header %d: %d rows (after %d), want 1 to %d and at most %d in the batch", i, bh.Rows, d, MaxBlobRows, MaxBatchRows)
		}
		d += int(bh.Rows)
		raw := r.bytes(int(bh.Rows) * CommitmentSize)
		if r.err != nil {
			return nil, r.err
		}
		bh.Commitments = make([]Commitment, bh.Rows)
		for j := range bh.Commitments {
			copy(bh.Commitments[j][:], raw[j*CommitmentSize:])
		}
	}
	if err := h.CheckShape(); err != nil {
		return nil, err
	}
	return h, nil
}

// MarshalBinary encodes the header (the wire form; DA nodes store it so).
func (b *BatchHeader) MarshalBinary() ([]byte, error) {
	if err := b.CheckShape(); err != nil {
		return nil, err
	}
	return appendBatchHeader(make([]byte, 0, batchHeaderSize(b)), b), nil
}

// UnmarshalBinary decodes and fully checks a header (MarshalBinary's form,
// nothing after it).
func (b *BatchHeader) UnmarshalBinary(data []byte) error {
	if len(data) > MaxBatchHeaderSize {
		return fmt.Errorf("%w: batch header of %d bytes, limit %d", ErrHeader, len(data), MaxBatchHeaderSize)
	}
	r := &reader{b: data}
	h, err := decodeBatchHeader(r)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if r.left() != 0 {
		return fmt.Errorf("%w: %d bytes after the batch header", ErrHeader, r.left())
	}
	if err := h.Check(); err != nil {
		return err
	}
	*b = *h
	return nil
}

// Slice is a dispersed row sent to a DA node: row Row (< N) of the batch and
// its 4096 field elements (RowSize bytes, each 32-byte big-endian; the
// receiver checks they are canonical).
type Slice struct {
	Row  uint32
	Data []byte
}

// --- dispersal ---

// DisperseRequest asks a DA node to verify, store and sign its rows of a
// batch (docs/spec.md §4.3). Batch is the batch header (the node signs its
// root); Slices are the dispersed rows this node holds window slots for, in
// ascending order, each once.
//
//	u8 len ‖ chain_id ‖ u64 epoch ‖ u32 quorum ‖ batch_header ‖
//	u32 m ‖ m × (u32 row ‖ row[131072])
type DisperseRequest struct {
	ChainID string
	Epoch   uint64
	Quorum  uint32
	Batch   BatchHeader
	Slices  []Slice
}

// Type implements Message.
func (*DisperseRequest) Type() MsgType { return MsgDisperseRequest }

func (m *DisperseRequest) prefixSize() int {
	return 2 + 1 + len(m.ChainID) + 8 + 4 + batchHeaderSize(&m.Batch) + 4
}

// EncodedSize implements Message.
func (m *DisperseRequest) EncodedSize() int {
	return m.prefixSize() + len(m.Slices)*(sliceFixed+RowSize)
}

// check enforces the structure and the header's key hashes, so that every
// encoding decodes.
func (m *DisperseRequest) check() error {
	if len(m.ChainID) == 0 || len(m.ChainID) > MaxChainIDLen {
		return fmt.Errorf("chain id of %d bytes, want 1 to %d", len(m.ChainID), MaxChainIDLen)
	}
	if err := m.Batch.Check(); err != nil {
		return err
	}
	n := uint32(m.Batch.DispersedRows())
	for i, s := range m.Slices {
		if s.Row >= n {
			return fmt.Errorf("slice %d: row %d of a batch of %d dispersed rows", i, s.Row, n)
		}
		if len(s.Data) != RowSize {
			return fmt.Errorf("slice %d: %d bytes, want %d", i, len(s.Data), RowSize)
		}
		if i > 0 && m.Slices[i-1].Row >= s.Row {
			return fmt.Errorf("slice %d: row %d is not after row %d (ascending, no repeats)", i, s.Row, m.Slices[i-1].Row)
		}
	}
	if n := m.EncodedSize(); n > MaxDisperseRequestSize {
		return fmt.Errorf("%w: dispersal request of %d bytes, limit %d", ErrMessageTooLarge, n, MaxDisperseRequestSize)
	}
	return nil
}

func (m *DisperseRequest) appendPrefix(b []byte) []byte {
	b = append(b, WireVersion, byte(MsgDisperseRequest), byte(len(m.ChainID)))
	b = append(b, m.ChainID...)
	b = binary.BigEndian.AppendUint64(b, m.Epoch)
	b = binary.BigEndian.AppendUint32(b, m.Quorum)
	b = appendBatchHeader(b, &m.Batch)
	return binary.BigEndian.AppendUint32(b, uint32(len(m.Slices)))
}

// AppendBinary implements Message.
func (m *DisperseRequest) AppendBinary(b []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, markWire(err)
	}
	b = m.appendPrefix(b)
	for _, s := range m.Slices {
		b = binary.BigEndian.AppendUint32(b, s.Row)
		b = append(b, s.Data...)
	}
	return b, nil
}

// writeBody streams the payload without building it in memory: the rows go
// from the caller's slices to w.
func (m *DisperseRequest) writeBody(w io.Writer) error {
	if _, err := w.Write(m.appendPrefix(make([]byte, 0, m.prefixSize()))); err != nil {
		return err
	}
	var hdr [sliceFixed]byte
	for _, s := range m.Slices {
		binary.BigEndian.PutUint32(hdr[:], s.Row)
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := w.Write(s.Data); err != nil {
			return err
		}
	}
	return nil
}

func (m *DisperseRequest) decode(r *reader) error {
	n := int(r.u8())
	m.ChainID = string(r.bytes(n))
	m.Epoch = r.u64()
	m.Quorum = r.u32()
	if r.err != nil {
		return r.err
	}
	h, err := decodeBatchHeader(r)
	if err != nil {
		return fmt.Errorf("batch header: %w", err)
	}
	m.Batch = *h
	ns := int(r.u32())
	if r.err != nil {
		return r.err
	}
	if ns < 0 || ns > m.Batch.DispersedRows() || r.left() != ns*(sliceFixed+RowSize) {
		return fmt.Errorf("%d slices in %d bytes (a batch of %d dispersed rows)", ns, r.left(), m.Batch.DispersedRows())
	}
	m.Slices = make([]Slice, ns)
	for i := range m.Slices {
		m.Slices[i].Row = r.u32()
		m.Slices[i].Data = r.bytes(RowSize)
	}
	return m.check()
}

// DisperseResponse is a DA node's answer to a DisperseRequest: its BLS
// signature over the batch's AttestationMessage, or a refusal with a code,
// a reason and the dispersed rows at fault (bad, missing or not held).
//
//	ok:      u8 0 ‖ signature[96]
//	refused: u8 1 ‖ u16 code ‖ u16 len ‖ reason ‖ u32 n ‖ n × u32 row
type DisperseResponse struct {
	OK        bool
	Signature Signature
	Code      ErrorCode
	Reason    string
	Rows      []uint32
}

// Type implements Message.
func (*DisperseResponse) Type() MsgType { return MsgDisperseResponse }

// EncodedSize implements Message.
func (m *DisperseResponse) EncodedSize() int {
	if m.OK {
		return 3 + SignatureSize
	}
	return 3 + 2 + 2 + len(m.Reason) + 4 + len(m.Rows)*sliceFixed
}

// AppendBinary implements Message.
func (m *DisperseResponse) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, WireVersion, byte(MsgDisperseResponse))
	if m.OK {
		if m.Code != 0 || m.Reason != "" || len(m.Rows) != 0 {
			return nil, wireErr("a signature answer carries no code, reason or rows")
		}
		b = append(b, 0)
		return append(b, m.Signature[:]...), nil
	}
	if m.Code == 0 {
		return nil, wireErr("a refusal needs a code")
	}
	if len(m.Reason) > MaxReasonLen {
		return nil, wireErr("reason of %d bytes, limit %d", len(m.Reason), MaxReasonLen)
	}
	if len(m.Rows) > MaxDispersedRows {
		return nil, wireErr("%d rows named, limit %d", len(m.Rows), MaxDispersedRows)
	}
	if m.Signature != (Signature{}) {
		return nil, wireErr("a refusal carries no signature")
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Code))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Reason)))
	b = append(b, m.Reason...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Rows)))
	for _, row := range m.Rows {
		b = binary.BigEndian.AppendUint32(b, row)
	}
	return b, nil
}

func (m *DisperseResponse) decode(r *reader) error {
	switch st := r.u8(); {
	case r.err != nil:
		return r.err
	case st == 0:
		m.OK = true
		copy(m.Signature[:], r.bytes(SignatureSize))
		return r.err
	case st != 1:
		return fmt.Errorf("status %d, want 0 or 1", st)
	}
	m.Code = ErrorCode(r.u16())
	m.Reason = r.text()
	n := int(r.u32())
	if r.err != nil {
		return r.err
	}
	if m.Code == 0 {
		return fmt.Errorf("a refusal with code 0")
	}
	if n > MaxDispersedRows || r.left() != n*sliceFixed {
		return fmt.Errorf("%d rows in %d bytes", n, r.left())
	}
	if n > 0 {
		m.Rows = make([]uint32, n)
		for i := range m.Rows {
			m.Rows[i] = r.u32()
		}
	}
	return r.err
}

// Err renders a refusal as a *RefusalError (nil for a signature).
func (m *DisperseResponse) Err() error {
	if m.OK {
		return nil
	}
	return &RefusalError{Code: m.Code, Reason: m.Reason, Rows: m.Rows}
}

// RefusalError is a DA node's refusal, as a Go error.
type RefusalError struct {
	Code   ErrorCode
	Reason string
	Rows   []uint32 // dispersed rows at fault
}

func (e *RefusalError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "refused (%s): %s", e.Code, e.Reason)
	if len(e.Rows) > 0 {
		sb.WriteString("; rows")
		for i, s := range e.Rows {
			if i == 16 {
				fmt.Fprintf(&sb, " … (%d in all)", len(e.Rows))
				break
			}
			fmt.Fprintf(&sb, " %d", s)
		}
	}
	return sb.String()
}

// --- retrieval ---

// RowRequest asks for dispersed row Row of the batch with root Root;
// WantHeader asks for the batch header too (so that the row can be checked
// against the blobs' keys).
//
//	batch_root[32] ‖ u32 row ‖ u8 flags (bit 0: want header)
type RowRequest struct {
	Root       Hash
	Row        uint32
	WantHeader bool
}

// Type implements Message.
func (*RowRequest) Type() MsgType { return MsgRowRequest }

// EncodedSize implements Message.
func (*RowRequest) EncodedSize() int { return 2 + 32 + 4 + 1 }

// AppendBinary implements Message.
func (m *RowRequest) AppendBinary(b []byte) ([]byte, error) {
	if m.Row >= MaxDispersedRows {
		return nil, wireErr("row %d, want below %d", m.Row, MaxDispersedRows)
	}
	b = append(b, WireVersion, byte(MsgRowRequest))
	b = append(b, m.Root[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Row)
	return append(b, flag(m.WantHeader)), nil
}

func (m *RowRequest) decode(r *reader) error {
	copy(m.Root[:], r.bytes(32))
	m.Row = r.u32()
	m.WantHeader = r.flag()
	if r.err == nil && m.Row >= MaxDispersedRows {
		return fmt.Errorf("row %d, want below %d", m.Row, MaxDispersedRows)
	}
	return r.err
}

// RowResponse carries a stored dispersed row, and the batch header if it was
// asked for (a decoded header has been checked against Root).
//
//	batch_root[32] ‖ u32 row ‖ u8 has_header ‖ [batch_header] ‖ row[131072]
type RowResponse struct {
	Root   Hash
	Row    uint32
	Header *BatchHeader // nil unless asked for
	Data   []byte       // RowSize bytes
}

// Type implements Message.
func (*RowResponse) Type() MsgType { return MsgRowResponse }

// EncodedSize implements Message.
func (m *RowResponse) EncodedSize() int {
	return 2 + 32 + 4 + optHeaderSize(m.Header) + RowSize
}

// AppendBinary implements Message.
func (m *RowResponse) AppendBinary(b []byte) ([]byte, error) {
	if err := checkOptHeader(m.Root, m.Row, m.Header, false); err != nil {
		return nil, markWire(err)
	}
	if len(m.Data) != RowSize {
		return nil, wireErr("row of %d bytes, want %d", len(m.Data), RowSize)
	}
	b = append(b, WireVersion, byte(MsgRowResponse))
	b = append(b, m.Root[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Row)
	b = appendOptHeader(b, m.Header)
	return append(b, m.Data...), nil
}

func (m *RowResponse) decode(r *reader) error {
	copy(m.Root[:], r.bytes(32))
	m.Row = r.u32()
	h, err := decodeOptHeader(r)
	if err != nil {
		return err
	}
	m.Header = h
	m.Data = r.bytes(RowSize)
	if r.err != nil {
		return r.err
	}
	return checkOptHeader(m.Root, m.Row, m.Header, true)
}

// CellRequest asks for cell Cell (0 ≤ Cell < 128) of dispersed row Row of a
// batch, with its EIP-7594 proof.
//
//	batch_root[32] ‖ u32 row ‖ u16 cell ‖ u8 flags (bit 0: want header)
type CellRequest struct {
	Root       Hash
	Row        uint32
	Cell       uint16
	WantHeader bool
}

// Type implements Message.
func (*CellRequest) Type() MsgType { return MsgCellRequest }

// EncodedSize implements Message.
func (*CellRequest) EncodedSize() int { return 2 + 32 + 4 + 2 + 1 }

// AppendBinary implements Message.
func (m *CellRequest) AppendBinary(b []byte) ([]byte, error) {
	if m.Row >= MaxDispersedRows || m.Cell >= CellsPerRow {
		return nil, wireErr("row %d cell %d, want below %d and %d", m.Row, m.Cell, MaxDispersedRows, CellsPerRow)
	}
	b = append(b, WireVersion, byte(MsgCellRequest))
	b = append(b, m.Root[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Row)
	b = binary.BigEndian.AppendUint16(b, m.Cell)
	return append(b, flag(m.WantHeader)), nil
}

func (m *CellRequest) decode(r *reader) error {
	copy(m.Root[:], r.bytes(32))
	m.Row = r.u32()
	m.Cell = r.u16()
	m.WantHeader = r.flag()
	if r.err == nil && (m.Row >= MaxDispersedRows || m.Cell >= CellsPerRow) {
		return fmt.Errorf("row %d cell %d, want below %d and %d", m.Row, m.Cell, MaxDispersedRows, CellsPerRow)
	}
	return r.err
}

// CellResponse carries a cell (64 field elements) and its KZG proof, and the
// batch header if it was asked for.
//
//	batch_root[32] ‖ u32 row ‖ u16 cell ‖ u8 has_header ‖ [batch_header] ‖
//	cell[2048] ‖ proof[48]
type CellResponse struct {
	Root   Hash
	Row    uint32
	Cell   uint16
	Header *BatchHeader
	Data   []byte // CellSize bytes
	Proof  [ProofSize]byte
}

// Type implements Message.
func (*CellResponse) Type() MsgType { return MsgCellResponse }

// EncodedSize implements Message.
func (m *CellResponse) EncodedSize() int {
	return 2 + 32 + 4 + 2 + optHeaderSize(m.Header) + CellSize + ProofSize
}

// AppendBinary implements Message.
func (m *CellResponse) AppendBinary(b []byte) ([]byte, error) {
	if err := checkOptHeader(m.Root, m.Row, m.Header, false); err != nil {
		return nil, markWire(err)
	}
	if m.Cell >= CellsPerRow {
		return nil, wireErr("cell %d, want below %d", m.Cell, CellsPerRow)
	}
	if len(m.Data) != CellSize {
		return nil, wireErr("cell of %d bytes, want %d", len(m.Data), CellSize)
	}
	b = append(b, WireVersion, byte(MsgCellResponse))
	b = append(b, m.Root[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Row)
	b = binary.BigEndian.AppendUint16(b, m.Cell)
	b = appendOptHeader(b, m.Header)
	b = append(b, m.Data...)
	return append(b, m.Proof[:]...), nil
}

func (m *CellResponse) decode(r *reader) error {
	copy(m.Root[:], r.bytes(32))
	m.Row = r.u32()
	m.Cell = r.u16()
	h, err := decodeOptHeader(r)
	if err != nil {
		return err
	}
	m.Header = h
	m.Data = r.bytes(CellSize)
	copy(m.Proof[:], r.bytes(ProofSize))
	if r.err != nil {
		return r.err
	}
	if m.Cell >= CellsPerRow {
		return fmt.Errorf("cell %d, want below %d", m.Cell, CellsPerRow)
	}
	return checkOptHeader(m.Root, m.Row, m.Header, true)
}

func optHeaderSize(h *BatchHeader) int {
	if h == nil {
		return 1
	}
	return 1 + batchHeaderSize(h)
}

// checkOptHeader checks an answer's row against the limits and, with a
// header, that the header is the batch's (its root is root) and has the row.
// Decoding also checks the key hashes (full); encoding leaves them to the
// receiver, so that fault-injecting tests can send a lying header.
func checkOptHeader(root Hash, row uint32, h *BatchHeader, full bool) error {
	if row >= MaxDispersedRows {
		return fmt.Errorf("row %d, want below %d", row, MaxDispersedRows)
	}
	if h == nil {
		return nil
	}
	check := h.CheckShape
	if full {
		check = h.Check
	}
	if err := check(); err != nil {
		return err
	}
	if got := h.Root(); got != root {
		return fmt.Errorf("a batch header with root %s in an answer about batch %s", got, root)
	}
	if n := h.DispersedRows(); row >= uint32(n) {
		return fmt.Errorf("row %d of a batch with %d dispersed rows", row, n)
	}
	return nil
}

func appendOptHeader(b []byte, h *BatchHeader) []byte {
	if h == nil {
		return append(b, 0)
	}
	return appendBatchHeader(append(b, 1), h)
}

func decodeOptHeader(r *reader) (*BatchHeader, error) {
	has := r.u8()
	if r.err != nil || has == 0 {
		return nil, r.err
	}
	if has != 1 {
		return nil, fmt.Errorf("header flag %d, want 0 or 1", has)
	}
	return decodeBatchHeader(r)
}

// --- errors and back-pressure ---

// ErrorMessage is a refusal of a row or cell request (or of a request that
// did not decode).
//
//	u16 code ‖ u16 len ‖ reason
type ErrorMessage struct {
	Code   ErrorCode
	Reason string
}

// Type implements Message.
func (*ErrorMessage) Type() MsgType { return MsgError }

// EncodedSize implements Message.
func (m *ErrorMessage) EncodedSize() int { return 2 + 2 + 2 + len(m.Reason) }

// AppendBinary implements Message.
func (m *ErrorMessage) AppendBinary(b []byte) ([]byte, error) {
	if m.Code == 0 || len(m.Reason) > MaxReasonLen {
		return nil, wireErr("error with code %d and a reason of %d bytes", m.Code, len(m.Reason))
	}
	b = append(b, WireVersion, byte(MsgError))
	b = binary.BigEndian.AppendUint16(b, uint16(m.Code))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Reason)))
	return append(b, m.Reason...), nil
}

func (m *ErrorMessage) decode(r *reader) error {
	m.Code = ErrorCode(r.u16())
	m.Reason = r.text()
	if r.err == nil && m.Code == 0 {
		return fmt.Errorf("code 0")
	}
	return r.err
}

// Err renders the message as a *RefusalError.
func (m *ErrorMessage) Err() error { return &RefusalError{Code: m.Code, Reason: m.Reason} }

// Busy says the node is at its bound of concurrent requests or in-flight
// bytes: try again after RetryAfterMillis.
//
//	u32 retry_after_ms
type Busy struct {
	RetryAfterMillis uint32
}

// Type implements Message.
func (*Busy) Type() MsgType { return MsgBusy }

// EncodedSize implements Message.
func (*Busy) EncodedSize() int { return 2 + 4 }

// AppendBinary implements Message.
func (m *Busy) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, WireVersion, byte(MsgBusy))
	return binary.BigEndian.AppendUint32(b, m.RetryAfterMillis), nil
}

func (m *Busy) decode(r *reader) error {
	m.RetryAfterMillis = r.u32()
	return r.err
}

// --- framing ---

// WriteFrame writes m as one frame: u32_be payload length ‖ payload.
// A dispersal request is streamed from its slices without being copied.
func WriteFrame(w io.Writer, m Message) error {
	n := m.EncodedSize()
	var hdr [FrameHeaderSize]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(n))
	if dr, ok := m.(*DisperseRequest); ok {
		if err := dr.check(); err != nil {
			return markWire(err)
		}
		bw := bufio.NewWriterSize(w, 256<<10)
		if _, err := bw.Write(hdr[:]); err != nil {
			return err
		}
		if err := dr.writeBody(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	b, err := m.AppendBinary(append(make([]byte, 0, FrameHeaderSize+n), hdr[:]...))
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadFrameHeader reads a frame's length and checks it against max before
// anything is allocated: a receiver can reserve memory for the payload (or
// answer Busy) in between.
func ReadFrameHeader(r io.Reader, max int) (int, error) {
	var hdr [FrameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(max) {
		return 0, fmt.Errorf("%w: frame of %d bytes, limit %d", ErrMessageTooLarge, n, max)
	}
	if n < 2 {
		return 0, wireErr("frame of %d bytes", n)
	}
	return int(n), nil
}

// ReadFrame reads one frame of at most max payload bytes and returns its
// payload.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	n, err := ReadFrameHeader(r, max)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%w: frame cut short: %v", ErrWire, err)
	}
	return b, nil
}

// ReadMessage reads and decodes one frame of at most max payload bytes.
func ReadMessage(r io.Reader, max int) (Message, error) {
	b, err := ReadFrame(r, max)
	if err != nil {
		return nil, err
	}
	return DecodeMessage(b)
}

// --- decoding helpers ---

// reader consumes a byte slice; the first shortfall sticks in err and every
// later read returns zeros, so decoders check once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) left() int { return len(r.b) }

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("truncated: need %d bytes, have %d", n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) flag() bool {
	switch v := r.u8(); {
	case r.err != nil:
		return false
	case v > 1:
		r.err = fmt.Errorf("flags %#x, want 0 or 1", v)
		return false
	default:
		return v == 1
	}
}

func (r *reader) text() string {
	n := int(r.u16())
	if r.err == nil && n > MaxReasonLen {
		r.err = fmt.Errorf("reason of %d bytes, limit %d", n, MaxReasonLen)
		return ""
	}
	return string(r.bytes(n))
}

func flag(v bool) byte {
	if v {
		return 1
	}
	return 0
}
