// Package api holds the disperser's HTTP wire types (docs/spec.md §7): the JSON
// bodies, the status values, the error codes and the sentinel errors they map
// to. The engine serves these types and package client decodes them, so both
// sides share one definition and one error contract. It imports only da and
// kzg (for their 0x-hex text forms).
package api

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/kzg"
)

// Status is a blob's place in the pipeline.
type Status string

// The statuses, in pipeline order. Certified and Failed are final.
const (
	StatusQueued     Status = "queued"
	StatusEncoding   Status = "encoding"
	StatusDispersing Status = "dispersing"
	StatusCertified  Status = "certified"
	StatusFailed     Status = "failed"
)

// Final reports whether the status never changes again.
func (s Status) Final() bool { return s == StatusCertified || s == StatusFailed }

// Valid reports whether s is one of the five statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusEncoding, StatusDispersing, StatusCertified, StatusFailed:
		return true
	}
	return false
}

// PutResponse is the body of 202 Accepted for POST /v1/blobs.
type PutResponse struct {
	BlobKey da.BlobKey `json:"blob_key"`
	Status  Status     `json:"status"`
}

// BlobStatus is the body of GET /v1/blobs/{key}/status (docs/spec.md §7,
// Status object). The batch fields are set once Status is certified: the
// batch's root, the blob's index among its BatchSize blobs, its first matrix
// row Offset, the RFC 6962 audit path of (key, R) under the root (bottom-up,
// see da.InclusionProof), the certificate as the chain recorded it and the
// height of the block that recorded it.
type BlobStatus struct {
	BlobKey    da.BlobKey `json:"blob_key"`
	Status     Status     `json:"status"`
	Reason     string     `json:"reason,omitempty"`     // why it failed
	Length     int        `json:"length"`               // L, bytes
	Rows       int        `json:"rows"`                 // R, data rows
	AcceptedAt time.Time  `json:"accepted_at,omitzero"` // absent from a server that learned the blob from the chain
	UpdatedAt  time.Time  `json:"updated_at,omitzero"`

	BatchRoot   *da.Hash        `json:"batch_root,omitempty"`
	Index       *uint32         `json:"index,omitempty"`
	BatchSize   int             `json:"batch_size,omitempty"`
	Offset      *uint32         `json:"offset,omitempty"`
	Proof       []da.Hash       `json:"proof,omitempty"`
	Certificate *da.Certificate `json:"certificate,omitempty"`
	Height      int64           `json:"height,omitempty"`
}

// VerifyInclusion checks what a certified status claims without trusting
// the server (docs/spec.md §7): the proof leads from the leaf (BlobKey, Rows)
// at Index of BatchSize to BatchRoot, the certificate's root is BatchRoot,
// its blob at Index is (BlobKey, Rows), it lists BatchSize blobs, Offset is
// the sum of the rows before Index, and the certificate is well formed with
// a root that matches its blob list. (Its signature and weight are the
// chain's to check.)
func (s *BlobStatus) VerifyInclusion() error {
	if s.Status != StatusCertified {
		return fmt.Errorf("api: blob %s is %s, not certified", s.BlobKey, s.Status)
	}
	if s.Certificate == nil || s.BatchRoot == nil || s.Index == nil || s.Offset == nil {
		return fmt.Errorf("api: certified status of %s lacks certificate, batch root, index or offset", s.BlobKey)
	}
	c := s.Certificate
	if c.BatchRoot != *s.BatchRoot {
		return fmt.Errorf("api: batch root %s is not the certificate's %s", s.BatchRoot, c.BatchRoot)
	}
	i := int(*s.Index)
	if len(c.Blobs) != s.BatchSize {
		return fmt.Errorf("api: batch_size %d, but the certificate lists %d blobs", s.BatchSize, len(c.Blobs))
	}
	if s.Rows < 1 || i >= len(c.Blobs) || c.Blobs[i].Key != s.BlobKey || int(c.Blobs[i].Rows) != s.Rows {
		return fmt.Errorf("api: certificate does not name %s with %d rows at index %d", s.BlobKey, s.Rows, i)
	}
	o := 0
	for _, b := range c.Blobs[:i] {
		o += int(b.Rows)
	}
	if uint32(o) != *s.Offset {
		return fmt.Errorf("api: offset %d, but the blobs before index %d hold %d rows", *s.Offset, i, o)
	}
	leaf := da.CertifiedBlob{Key: s.BlobKey, Rows: uint32(s.Rows)}
	if !da.VerifyInclusion(*s.BatchRoot, leaf, uint64(i), uint64(s.BatchSize), s.Proof) {
		return fmt.Errorf("api: the proof of %s does not lead to %s", s.BlobKey, s.BatchRoot)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("api: certificate: %w", err)
	}
	return nil
}

// Commitments is the body of GET /v1/blobs/{key}/commitments: the blob's
// length L, its R data rows and their commitments C_0 … C_{R−1}.
type Commitments struct {
	Length      int              `json:"length"`
	Rows        int              `json:"rows"`
	Commitments []kzg.Commitment `json:"commitments"`
}

// BatchBlob is one blob header of a Batch.
type BatchBlob struct {
	BlobKey     da.BlobKey       `json:"blob_key"`
	Length      int              `json:"length"`
	Rows        int              `json:"rows"`
	Commitments []kzg.Commitment `json:"commitments"`
}

// Batch is the body of GET /v1/batches/{root} (docs/spec.md §7, Batch
// object): the batch header in batch order with its counts D, K and N, and
// the certificate once the chain has recorded one.
type Batch struct {
	BatchRoot     da.Hash         `json:"batch_root"`
	DataRows      int             `json:"data_rows"`
	K             int             `json:"k"`
	DispersedRows int             `json:"dispersed_rows"`
	Blobs         []BatchBlob     `json:"blobs"`
	Certificate   *da.Certificate `json:"certificate,omitempty"`
}

// NewBatch renders a batch header (and its certificate, if any).
func NewBatch(h *da.BatchHeader, cert *da.Certificate) *Batch {
	b := &Batch{BatchRoot: h.Root(), DataRows: h.DataRows(), K: h.MatrixRows(), DispersedRows: h.DispersedRows(),
		Blobs: make([]BatchBlob, len(h.Blobs)), Certificate: cert}
	for i, x := range h.Blobs {
		cs := make([]kzg.Commitment, len(x.Commitments))
		for j := range x.Commitments {
			cs[j] = kzg.Commitment(x.Commitments[j])
		}
		b.Blobs[i] = BatchBlob{BlobKey: x.Key, Length: int(x.Length), Rows: int(x.Rows), Commitments: cs}
	}
	return b
}

// Header returns the batch header the body carries, checked (docs/spec.md
// §3.2, §3.3, §3.7): every blob header canonical and hashing to its key, the
// root and the counts those of the header, and the certificate, if any, for
// the same root.
func (b *Batch) Header() (*da.BatchHeader, error) {
	h := &da.BatchHeader{Blobs: make([]da.BlobHeader, len(b.Blobs))}
	for i, x := range b.Blobs {
		if x.Length < 1 || x.Rows < 1 {
			return nil, fmt.Errorf("api: batch blob %d: length %d, rows %d", i, x.Length, x.Rows)
		}
		cs := make([]da.Commitment, len(x.Commitments))
		for j := range x.Commitments {
			cs[j] = da.Commitment(x.Commitments[j])
		}
		h.Blobs[i] = da.BlobHeader{Key: x.BlobKey, Length: uint64(x.Length), Rows: uint32(x.Rows), Commitments: cs}
	}
	if err := h.Check(); err != nil {
		return nil, fmt.Errorf("api: batch %s: %w", b.BatchRoot, err)
	}
	if r := h.Root(); r != b.BatchRoot {
		return nil, fmt.Errorf("api: the batch's blobs hash to %s, not to %s", r, b.BatchRoot)
	}
	if b.DataRows != h.DataRows() || b.K != h.MatrixRows() || b.DispersedRows != h.DispersedRows() {
		return nil, fmt.Errorf("api: batch %s: counts D=%d K=%d N=%d, the header gives %d, %d, %d",
			b.BatchRoot, b.DataRows, b.K, b.DispersedRows, h.DataRows(), h.MatrixRows(), h.DispersedRows())
	}
	if b.Certificate != nil && b.Certificate.BatchRoot != b.BatchRoot {
		return nil, fmt.Errorf("api: the certificate is for %s, not %s", b.Certificate.BatchRoot, b.BatchRoot)
	}
	return h, nil
}

// Cell is the body of GET /v1/batches/{root}/cells/{n}/{c}: the cell's 64
// field elements (2048 bytes, 32-byte big-endian each) and its EIP-7594 KZG
// proof against dispersed row n's commitment.
type Cell struct {
	Cell  Bytes `json:"cell"`
	Proof Proof `json:"proof"`
}

// Proof is a kzg.Proof (48 bytes, compressed G1) in 0x-prefixed hex, both
// ways (kzg.Proof itself only marshals). Its bytes are only decoded here;
// kzg.ParseProof checks the point.
type Proof kzg.Proof

// MarshalText implements encoding.TextMarshaler.
func (p Proof) MarshalText() ([]byte, error) { return kzg.Proof(p).MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Proof) UnmarshalText(t []byte) error {
	var b Bytes
	if err := b.UnmarshalText(t); err != nil {
		return err
	}
	if len(b) != kzg.ProofSize {
		return fmt.Errorf("api: proof has %d bytes, want %d", len(b), kzg.ProofSize)
	}
	copy(p[:], b)
	return nil
}

// ErrorBody is every error response: a message for people and a code for
// programs.
type ErrorBody struct {
	Error string `json:"error"`
	Code  Code   `json:"code"`
}

// Bytes is a byte string in 0x-prefixed lowercase hex.
type Bytes []byte

// MarshalText implements encoding.TextMarshaler.
func (b Bytes) MarshalText() ([]byte, error) {
	out := make([]byte, 2+hex.EncodedLen(len(b)))
	out[0], out[1] = '0', 'x'
	hex.Encode(out[2:], b)
	return out, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *Bytes) UnmarshalText(t []byte) error {
	if len(t) < 2 || t[0] != '0' || (t[1] != 'x' && t[1] != 'X') {
		return fmt.Errorf("api: hex string must start with 0x")
	}
	v := make([]byte, hex.DecodedLen(len(t)-2))
	if _, err := hex.Decode(v, t[2:]); err != nil {
		return fmt.Errorf("api: bad hex: %w", err)
	}
	*b = v
	return nil
}
