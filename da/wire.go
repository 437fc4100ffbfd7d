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

// The DA node wire protocol (DESIGN.md §4): what a disperser and a DA node say
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
	ProtocolDisperse = "/zgda/disperse/1.0.0"
	ProtocolRow      = "/zgda/row/1.0.0"
	ProtocolCell     = "/zgda/cell/1.0.0"
)

// Sizes and limits of the wire codec.
const (
	// WireVersion is the first byte of every message payload.
	WireVersion = 1

	CommitmentSize = 48        // a compressed G1 point (KZG commitment)
	ProofSize      = 48        // a compressed G1 point (KZG proof)
	RowSize        = 4096 * 32 // a row: 4096 field elements, 32-byte big-endian each
	CellSize       = 64 * 32   // an EIP-7594 cell: 64 field elements
	CellsPerRow    = 128
	// MaxBlobLength is the codec's MaxBlobSize: MaxBlobRows rows of 126,976 bytes.
	MaxBlobLength = MaxBlobRows * 126976
	// MaxExtendedRows is 4·MaxBlobRows, the most extended rows of a blob.
	MaxExtendedRows = ExtensionFactor * MaxBlobRows

	// FrameHeaderSize is the length prefix of a frame.
	FrameHeaderSize = 4
	// MaxDisperseRequestSize bounds a dispersal request (the rows one node is
	// sent for one batch). A disperser whose batch would exceed it for some
	// node must split the batch.
	MaxDisperseRequestSize = 64 << 20
	// MaxDisperseResponseSize bounds a dispersal answer (reason and row list).
	MaxDisperseResponseSize = 1 << 20
	// MaxQuerySize bounds row and cell requests.
	MaxQuerySize = 64
	// MaxRowResponseSize and MaxCellResponseSize bound the answers to them
	// (with the blob header of the largest blob).
	MaxRowResponseSize  = 2 + 32 + 4 + 1 + headerFixed + MaxBlobRows*CommitmentSize + RowSize
	MaxCellResponseSize = 2 + 32 + 4 + 2 + 1 + headerFixed + MaxBlobRows*CommitmentSize + CellSize + ProofSize
	// MaxErrorSize bounds an error or busy answer.
	MaxErrorSize = 2 + 2 + 2 + MaxReasonLen
	// MaxAnswerSize bounds every answer a client reads (the largest of the
	// answer limits).
	MaxAnswerSize = MaxDisperseResponseSize

	// MaxChainIDLen bounds the chain id of a request.
	MaxChainIDLen = 64
	// MaxReasonLen bounds the reason text of a refusal, in bytes.
	MaxReasonLen = 1024
	// MaxSliceRefs bounds the (blob, row) list of a refusal.
	MaxSliceRefs = 8192

	headerFixed = 8 + 4 // u64 length ‖ u32 K, after the key
	sliceFixed  = 2 + 4 // u16 blob ‖ u32 row
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
	CodeBadHeader     ErrorCode = 6  // a blob key, length or K that does not check out
	CodeNotHeld       ErrorCode = 7  // rows for slots this node does not hold
	CodeMissingRows   ErrorCode = 8  // rows this node holds that were not sent
	CodeBadRows       ErrorCode = 9  // rows that do not match their commitments
	CodeNotFound      ErrorCode = 10 // a row or blob the node does not store
	CodeBusy          ErrorCode = 11 // over the node's concurrency or memory bound
	CodeInternal      ErrorCode = 12 // the node failed (storage, chain)
	CodeNotInQuorum   ErrorCode = 13 // the node holds no slot of the batch
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
		return nil, fmt.Errorf("%w: %s: %v", ErrWire, t, err)
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

// --- blob headers and slices ---

// BlobHeader describes one blob of a batch: its key, its length L, K and its
// data-row commitments C_0 … C_{K−1} (DESIGN.md §3).
type BlobHeader struct {
	Key         BlobKey
	Length      uint64
	Rows        uint32 // K
	Commitments []Commitment
}

// ExtendedRows is 4K.
func (h *BlobHeader) ExtendedRows() uint32 { return ExtensionFactor * h.Rows }

func (h *BlobHeader) encodedSize() int { return 32 + headerFixed + len(h.Commitments)*CommitmentSize }

// check enforces the structural limits: K a power of two ≤ MaxBlobRows with
// K commitments, 1 ≤ L ≤ MaxBlobLength. Whether L, K, the commitments and the
// key agree is for the receiver to check (it needs the codec).
func (h *BlobHeader) check() error {
	if h.Rows == 0 || h.Rows > MaxBlobRows || h.Rows&(h.Rows-1) != 0 {
		return fmt.Errorf("blob %s: K = %d, want a power of two from 1 to %d", h.Key, h.Rows, MaxBlobRows)
	}
	if len(h.Commitments) != int(h.Rows) {
		return fmt.Errorf("blob %s: %d commitments for K = %d", h.Key, len(h.Commitments), h.Rows)
	}
	if h.Length == 0 || h.Length > MaxBlobLength {
		return fmt.Errorf("blob %s: length %d, want 1 to %d", h.Key, h.Length, MaxBlobLength)
	}
	return nil
}

func (h *BlobHeader) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, h.Length)
	b = binary.BigEndian.AppendUint32(b, h.Rows)
	for _, c := range h.Commitments {
		b = append(b, c[:]...)
	}
	return b
}

func (h *BlobHeader) decodeBody(r *reader) error {
	h.Length = r.u64()
	h.Rows = r.u32()
	if r.err != nil {
		return r.err
	}
	if h.Rows == 0 || h.Rows > MaxBlobRows || h.Rows&(h.Rows-1) != 0 {
		return fmt.Errorf("blob %s: K = %d, want a power of two from 1 to %d", h.Key, h.Rows, MaxBlobRows)
	}
	raw := r.bytes(int(h.Rows) * CommitmentSize)
	if r.err != nil {
		return r.err
	}
	h.Commitments = make([]Commitment, h.Rows)
	for i := range h.Commitments {
		copy(h.Commitments[i][:], raw[i*CommitmentSize:])
	}
	return h.check()
}

// SliceRef names a row of a batch: blob Blob (its position in the batch) and
// extended row Row.
type SliceRef struct {
	Blob uint16
	Row  uint32
}

func (s SliceRef) String() string { return fmt.Sprintf("(blob %d, row %d)", s.Blob, s.Row) }

func sliceLess(a, b SliceRef) bool {
	return a.Blob < b.Blob || (a.Blob == b.Blob && a.Row < b.Row)
}

// Slice is a row sent to a DA node: blob Blob of the request, extended row
// Row, and the row's 4096 field elements (RowSize bytes, each 32-byte
// big-endian; the receiver checks they are canonical).
type Slice struct {
	SliceRef
	Data []byte
}

// --- dispersal ---

// DisperseRequest asks a DA node to verify, store and sign its rows of a
// batch. Headers lists every blob of the batch in batch order (the node signs
// the batch root of their keys); Slices are this node's rows, in ascending
// (blob, row) order, each distinct row once.
//
//	chain_id: u8 len ‖ bytes ‖ u64 epoch ‖ u32 quorum ‖
//	u16 n ‖ n × (blob_key[32] ‖ u64 L ‖ u32 K ‖ K × commitment[48]) ‖
//	u32 m ‖ m × (u16 blob ‖ u32 row ‖ row[131072])
type DisperseRequest struct {
	ChainID string
	Epoch   uint64
	Quorum  uint32
	Headers []BlobHeader
	Slices  []Slice
}

// Type implements Message.
func (*DisperseRequest) Type() MsgType { return MsgDisperseRequest }

// Keys lists the batch's blob keys in order.
func (m *DisperseRequest) Keys() []BlobKey {
	keys := make([]BlobKey, len(m.Headers))
	for i := range m.Headers {
		keys[i] = m.Headers[i].Key
	}
	return keys
}

func (m *DisperseRequest) prefixSize() int {
	n := 2 + 1 + len(m.ChainID) + 8 + 4 + 2
	for i := range m.Headers {
		n += m.Headers[i].encodedSize()
	}
	return n + 4
}

// EncodedSize implements Message.
func (m *DisperseRequest) EncodedSize() int {
	return m.prefixSize() + len(m.Slices)*(sliceFixed+RowSize)
}

func (m *DisperseRequest) check() error {
	if len(m.ChainID) == 0 || len(m.ChainID) > MaxChainIDLen {
		return fmt.Errorf("chain id of %d bytes, want 1 to %d", len(m.ChainID), MaxChainIDLen)
	}
	if len(m.Headers) == 0 || len(m.Headers) > MaxCertificateBlobs {
		return fmt.Errorf("%d blobs, want 1 to %d", len(m.Headers), MaxCertificateBlobs)
	}
	seen := make(map[BlobKey]int, len(m.Headers))
	for i := range m.Headers {
		if err := m.Headers[i].check(); err != nil {
			return fmt.Errorf("%v", err)
		}
		if j, dup := seen[m.Headers[i].Key]; dup {
			return fmt.Errorf("blob %s appears twice (positions %d and %d)", m.Headers[i].Key, j, i)
		}
		seen[m.Headers[i].Key] = i
	}
	for i, s := range m.Slices {
		if int(s.Blob) >= len(m.Headers) {
			return fmt.Errorf("slice %d: blob %d of %d", i, s.Blob, len(m.Headers))
		}
		if s.Row >= m.Headers[s.Blob].ExtendedRows() {
			return fmt.Errorf("slice %d: row %d of blob %d, which has %d", i, s.Row, s.Blob, m.Headers[s.Blob].ExtendedRows())
		}
		if len(s.Data) != RowSize {
			return fmt.Errorf("slice %d: %d bytes, want %d", i, len(s.Data), RowSize)
		}
		if i > 0 && !sliceLess(m.Slices[i-1].SliceRef, s.SliceRef) {
			return fmt.Errorf("slice %d %v is not after %v (ascending, no repeats)", i, s.SliceRef, m.Slices[i-1].SliceRef)
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
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Headers)))
	for i := range m.Headers {
		b = append(b, m.Headers[i].Key[:]...)
		b = m.Headers[i].appendBody(b)
	}
	return binary.BigEndian.AppendUint32(b, uint32(len(m.Slices)))
}

// AppendBinary implements Message.
func (m *DisperseRequest) AppendBinary(b []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, markWire(err)
	}
	b = m.appendPrefix(b)
	for _, s := range m.Slices {
		b = binary.BigEndian.AppendUint16(b, s.Blob)
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
		binary.BigEndian.PutUint16(hdr[:2], s.Blob)
		binary.BigEndian.PutUint32(hdr[2:], s.Row)
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
	nb := int(r.u16())
	if r.err != nil {
		return r.err
	}
	if nb == 0 || nb > MaxCertificateBlobs {
		return fmt.Errorf("%d blobs, want 1 to %d", nb, MaxCertificateBlobs)
	}
	if r.left() < nb*(32+headerFixed+CommitmentSize) {
		return fmt.Errorf("truncated: %d blob headers in %d bytes", nb, r.left())
	}
	m.Headers = make([]BlobHeader, nb)
	for i := range m.Headers {
		copy(m.Headers[i].Key[:], r.bytes(32))
		if err := m.Headers[i].decodeBody(r); err != nil {
			return fmt.Errorf("blob header %d: %w", i, err)
		}
	}
	ns := int(r.u32())
	if r.err != nil {
		return r.err
	}
	if ns < 0 || r.left() != ns*(sliceFixed+RowSize) {
		return fmt.Errorf("%d slices in %d bytes, want %d", ns, r.left(), ns*(sliceFixed+RowSize))
	}
	m.Slices = make([]Slice, ns)
	for i := range m.Slices {
		m.Slices[i].Blob = r.u16()
		m.Slices[i].Row = r.u32()
		m.Slices[i].Data = r.bytes(RowSize)
	}
	return m.check()
}

// DisperseResponse is a DA node's answer to a DisperseRequest: its BLS
// signature over the batch's AttestationMessage, or a refusal with a code,
// a reason and the rows at fault (bad, missing or not held).
//
//	ok:      u8 0 ‖ signature[96]
//	refused: u8 1 ‖ u16 code ‖ u16 len ‖ reason ‖ u32 n ‖ n × (u16 blob ‖ u32 row)
type DisperseResponse struct {
	OK        bool
	Signature Signature
	Code      ErrorCode
	Reason    string
	Rows      []SliceRef
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
	if len(m.Rows) > MaxSliceRefs {
		return nil, wireErr("%d rows named, limit %d", len(m.Rows), MaxSliceRefs)
	}
	if m.Signature != (Signature{}) {
		return nil, wireErr("a refusal carries no signature")
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Code))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Reason)))
	b = append(b, m.Reason...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Rows)))
	for _, s := range m.Rows {
		b = binary.BigEndian.AppendUint16(b, s.Blob)
		b = binary.BigEndian.AppendUint32(b, s.Row)
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
	if n > MaxSliceRefs || r.left() != n*sliceFixed {
		return fmt.Errorf("%d rows in %d bytes", n, r.left())
	}
	if n > 0 {
		m.Rows = make([]SliceRef, n)
		for i := range m.Rows {
			m.Rows[i] = SliceRef{Blob: r.u16(), Row: r.u32()}
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
	Rows   []SliceRef
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
			sb.WriteString(" " + s.String())
		}
	}
	return sb.String()
}

// --- retrieval ---

// RowRequest asks for extended row Row of a blob; WantHeader asks for the
// blob header too (so that the row can be checked against the key).
//
//	blob_key[32] ‖ u32 row ‖ u8 flags (bit 0: want header)
type RowRequest struct {
	Key        BlobKey
	Row        uint32
	WantHeader bool
}

// Type implements Message.
func (*RowRequest) Type() MsgType { return MsgRowRequest }

// EncodedSize implements Message.
func (*RowRequest) EncodedSize() int { return 2 + 32 + 4 + 1 }

// AppendBinary implements Message.
func (m *RowRequest) AppendBinary(b []byte) ([]byte, error) {
	if m.Row >= MaxExtendedRows {
		return nil, wireErr("row %d, want below %d", m.Row, MaxExtendedRows)
	}
	b = append(b, WireVersion, byte(MsgRowRequest))
	b = append(b, m.Key[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Row)
	return append(b, flag(m.WantHeader)), nil
}

func (m *RowRequest) decode(r *reader) error {
	copy(m.Key[:], r.bytes(32))
	m.Row = r.u32()
	m.WantHeader = r.flag()
	if r.err == nil && m.Row >= MaxExtendedRows {
		return fmt.Errorf("row %d, want below %d", m.Row, MaxExtendedRows)
	}
	return r.err
}

// RowResponse carries a stored row, and the blob header if it was asked for.
//
//	blob_key[32] ‖ u32 row ‖ u8 has_header ‖ [u64 L ‖ u32 K ‖ K × commitment[48]] ‖ row[131072]
type RowResponse struct {
	Key    BlobKey
	Row    uint32
	Header *BlobHeader // nil unless asked for; Header.Key = Key
	Data   []byte      // RowSize bytes
}

// Type implements Message.
func (*RowResponse) Type() MsgType { return MsgRowResponse }

// EncodedSize implements Message.
func (m *RowResponse) EncodedSize() int {
	return 2 + 32 + 4 + optHeaderSize(m.Header) + RowSize
}

// AppendBinary implements Message.
func (m *RowResponse) AppendBinary(b []byte) ([]byte, error) {
	if err := checkOptHeader(m.Key, m.Row, m.Header); err != nil {
		return nil, markWire(err)
	}
	if len(m.Data) != RowSize {
		return nil, wireErr("row of %d bytes, want %d", len(m.Data), RowSize)
	}
	b = append(b, WireVersion, byte(MsgRowResponse))
	b = append(b, m.Key[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Row)
	b = appendOptHeader(b, m.Header)
	return append(b, m.Data...), nil
}

func (m *RowResponse) decode(r *reader) error {
	copy(m.Key[:], r.bytes(32))
	m.Row = r.u32()
	h, err := decodeOptHeader(r, m.Key)
	if err != nil {
		return err
	}
	m.Header = h
	m.Data = r.bytes(RowSize)
	if r.err != nil {
		return r.err
	}
	return checkOptHeader(m.Key, m.Row, m.Header)
}

// CellRequest asks for cell Cell (0 ≤ Cell < 128) of extended row Row of a
// blob, with its EIP-7594 proof.
//
//	blob_key[32] ‖ u32 row ‖ u16 cell ‖ u8 flags (bit 0: want header)
type CellRequest struct {
	Key        BlobKey
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
	if m.Row >= MaxExtendedRows || m.Cell >= CellsPerRow {
		return nil, wireErr("row %d cell %d, want below %d and %d", m.Row, m.Cell, MaxExtendedRows, CellsPerRow)
	}
	b = append(b, WireVersion, byte(MsgCellRequest))
	b = append(b, m.Key[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Row)
	b = binary.BigEndian.AppendUint16(b, m.Cell)
	return append(b, flag(m.WantHeader)), nil
}

func (m *CellRequest) decode(r *reader) error {
	copy(m.Key[:], r.bytes(32))
	m.Row = r.u32()
	m.Cell = r.u16()
	m.WantHeader = r.flag()
	if r.err == nil && (m.Row >= MaxExtendedRows || m.Cell >= CellsPerRow) {
		return fmt.Errorf("row %d cell %d, want below %d and %d", m.Row, m.Cell, MaxExtendedRows, CellsPerRow)
	}
	return r.err
}

// CellResponse carries a cell (64 field elements) and its KZG proof, and the
// blob header if it was asked for.
//
//	blob_key[32] ‖ u32 row ‖ u16 cell ‖ u8 has_header ‖ [u64 L ‖ u32 K ‖ K × commitment[48]] ‖
//	cell[2048] ‖ proof[48]
type CellResponse struct {
	Key    BlobKey
	Row    uint32
	Cell   uint16
	Header *BlobHeader
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
	if err := checkOptHeader(m.Key, m.Row, m.Header); err != nil {
		return nil, markWire(err)
	}
	if m.Cell >= CellsPerRow {
		return nil, wireErr("cell %d, want below %d", m.Cell, CellsPerRow)
	}
	if len(m.Data) != CellSize {
		return nil, wireErr("cell of %d bytes, want %d", len(m.Data), CellSize)
	}
	b = append(b, WireVersion, byte(MsgCellResponse))
	b = append(b, m.Key[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Row)
	b = binary.BigEndian.AppendUint16(b, m.Cell)
	b = appendOptHeader(b, m.Header)
	b = append(b, m.Data...)
	return append(b, m.Proof[:]...), nil
}

func (m *CellResponse) decode(r *reader) error {
	copy(m.Key[:], r.bytes(32))
	m.Row = r.u32()
	m.Cell = r.u16()
	h, err := decodeOptHeader(r, m.Key)
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
	return checkOptHeader(m.Key, m.Row, m.Header)
}

func optHeaderSize(h *BlobHeader) int {
	if h == nil {
		return 1
	}
	return 1 + headerFixed + len(h.Commitments)*CommitmentSize
}

func checkOptHeader(key BlobKey, row uint32, h *BlobHeader) error {
	if row >= MaxExtendedRows {
		return fmt.Errorf("row %d, want below %d", row, MaxExtendedRows)
	}
	if h == nil {
		return nil
	}
	if h.Key != key {
		return fmt.Errorf("header of blob %s in an answer about %s", h.Key, key)
	}
	if err := h.check(); err != nil {
		return err
	}
	if row >= h.ExtendedRows() {
		return fmt.Errorf("row %d of a blob with %d", row, h.ExtendedRows())
	}
	return nil
}

func appendOptHeader(b []byte, h *BlobHeader) []byte {
	if h == nil {
		return append(b, 0)
	}
	return h.appendBody(append(b, 1))
}

func decodeOptHeader(r *reader, key BlobKey) (*BlobHeader, error) {
	has := r.u8()
	if r.err != nil || has == 0 {
		return nil, r.err
	}
	if has != 1 {
		return nil, fmt.Errorf("header flag %d, want 0 or 1", has)
	}
	h := &BlobHeader{Key: key}
	if err := h.decodeBody(r); err != nil {
		return nil, err
	}
	return h, nil
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
