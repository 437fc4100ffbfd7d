// Package api holds the disperser's HTTP wire types (DESIGN.md §7): the JSON
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

// BlobStatus is the body of GET /v1/blobs/{key}/status. The certificate
// fields are set once Status is certified: the certificate as the chain
// recorded it, its batch root, the blob's index among the certificate's keys
// and the Merkle proof of its key under the batch root (bottom first, see
// da.MerkleProof), and the height of the block that took the certificate.
type BlobStatus struct {
	BlobKey    da.BlobKey `json:"blob_key"`
	Status     Status     `json:"status"`
	Reason     string     `json:"reason,omitempty"` // why it failed
	Length     int        `json:"length"`           // L, bytes
	Rows       int        `json:"rows"`             // K, data rows
	AcceptedAt time.Time  `json:"accepted_at"`
	UpdatedAt  time.Time  `json:"updated_at"`

	Certificate *da.Certificate `json:"certificate,omitempty"`
	BatchRoot   *da.Hash        `json:"batch_root,omitempty"`
	BlobIndex   *uint64         `json:"blob_index,omitempty"`
	MerkleProof []da.Hash       `json:"merkle_proof,omitempty"`
	Height      int64           `json:"height,omitempty"`
}

// VerifyInclusion checks what a certified status claims without trusting
// the server: the certificate names the blob at BlobIndex with K = Rows,
// its batch root is BatchRoot, and the Merkle proof leads from the blob key
// to that root. (The certificate's signature is the chain's to check.)
func (s *BlobStatus) VerifyInclusion() error {
	if s.Status != StatusCertified {
		return fmt.Errorf("api: blob %s is %s, not certified", s.BlobKey, s.Status)
	}
	if s.Certificate == nil || s.BatchRoot == nil || s.BlobIndex == nil {
		return fmt.Errorf("api: certified status of %s lacks certificate, batch root or index", s.BlobKey)
	}
	c := s.Certificate
	if c.BatchRoot != *s.BatchRoot {
		return fmt.Errorf("api: batch root %s is not the certificate's %s", s.BatchRoot, c.BatchRoot)
	}
	i := *s.BlobIndex
	if i >= uint64(len(c.Blobs)) || c.Blobs[i].Key != s.BlobKey || int(c.Blobs[i].Rows) != s.Rows {
		return fmt.Errorf("api: certificate does not name %s with %d rows at index %d", s.BlobKey, s.Rows, i)
	}
	if !da.VerifyMerkleProof(*s.BatchRoot, s.BlobKey, i, s.MerkleProof) {
		return fmt.Errorf("api: Merkle proof of %s does not lead to %s", s.BlobKey, s.BatchRoot)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("api: certificate: %w", err)
	}
	return nil
}

// Commitments is the body of GET /v1/blobs/{key}/commitments: the blob's
// length L, its K data rows and their commitments C_0 … C_{K−1}.
type Commitments struct {
	Length      int              `json:"length"`
	Rows        int              `json:"rows"`
	Commitments []kzg.Commitment `json:"commitments"`
}

// Cell is the body of GET /v1/blobs/{key}/cells/{row}/{cell}: the cell's 64
// field elements (2048 bytes, 32-byte big-endian each) and its EIP-7594 KZG
// proof against the extended row's commitment.
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
