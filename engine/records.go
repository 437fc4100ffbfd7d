package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/storage"
)

// Storage layout. Keys are a prefix and 32 raw bytes.
//
//	blob/<key>  the bytes as posted (pruned by age: Retention.BlobMaxAge);
//	            packed rows, parity rows and padding rows are never stored
//	stat/<key>  statusRecord (JSON): status, L, R, C_0 … C_{R−1}, and once
//	            certified the batch root and the blob's index in the batch
//	pend/<key>  empty; present while the blob is not certified or failed,
//	            so that a restart re-queues exactly these
//	cert/<root> chain.CertificateRecord (JSON): the certificate and its height
//	bhdr/<root> the batch header (da.BatchHeader binary form, docs/spec.md §5)
//	hash/<sha>  the blob key of the bytes whose SHA-256 is sha, so that a
//	            repost is recognised before any commitment work
//
// Intake writes blob/, stat/, pend/ and hash/ in one atomic batch before it answers;
// certification writes stat/, deletes pend/ and writes cert/ and bhdr/ in
// one batch.
const (
	prefixBlob   = "blob/"
	prefixStat   = "stat/"
	prefixPend   = "pend/"
	prefixCert   = "cert/"
	prefixHeader = "bhdr/"
	prefixHash   = "hash/"
)

func storeKey(prefix string, k [32]byte) []byte {
	b := make([]byte, 0, len(prefix)+32)
	return append(append(b, prefix...), k[:]...)
}

// statusRecord is what stat/<key> holds.
type statusRecord struct {
	Status      api.Status       `json:"status"`
	Reason      string           `json:"reason,omitempty"`
	Length      int              `json:"length"`
	Rows        int              `json:"rows"`
	Commitments []kzg.Commitment `json:"commitments"`
	AcceptedAt  time.Time        `json:"accepted_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
	Attempts    int              `json:"attempts,omitempty"`
	BatchRoot   *da.Hash         `json:"batch_root,omitempty"`
	Index       uint32           `json:"index,omitempty"`
}

func (r *statusRecord) marshal() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("engine: status record does not encode: %v", err)) // only fixed-size types
	}
	return b
}

// readStatus returns the stored record of key, or nil if there is none.
func (e *Engine) readStatus(ctx context.Context, key da.BlobKey) (*statusRecord, error) {
	raw, err := e.store.Get(ctx, storeKey(prefixStat, key))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading status of %s: %v", ErrInternal, key, err)
	}
	var r statusRecord
	if err := json.Unmarshal(raw, &r); err != nil || !r.Status.Valid() || len(r.Commitments) != r.Rows {
		return nil, fmt.Errorf("%w: status record of %s is corrupt: %v", ErrInternal, key, err)
	}
	return &r, nil
}

// readCert returns the stored certificate record for a batch root, or nil
// if there is none.
func (e *Engine) readCert(ctx context.Context, root da.Hash) (*chain.CertificateRecord, error) {
	raw, err := e.store.Get(ctx, storeKey(prefixCert, root))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading certificate %s: %v", ErrInternal, root, err)
	}
	var c chain.CertificateRecord
	if err := json.Unmarshal(raw, &c); err != nil || c.Certificate.BatchRoot != root {
		return nil, fmt.Errorf("%w: certificate record %s is corrupt: %v", ErrInternal, root, err)
	}
	return &c, nil
}

// readHeader returns the stored header of a batch root, or nil if there is
// none.
func (e *Engine) readHeader(ctx context.Context, root da.Hash) (*da.BatchHeader, error) {
	raw, err := e.store.Get(ctx, storeKey(prefixHeader, root))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading batch header %s: %v", ErrInternal, root, err)
	}
	var h da.BatchHeader
	if err := h.UnmarshalBinary(raw); err != nil || h.Root() != root {
		return nil, fmt.Errorf("%w: batch header %s is corrupt: %v", ErrInternal, root, err)
	}
	return &h, nil
}

// apiStatus renders a stored record (and, once certified, where its
// certificate places the blob: docs/spec.md §7, Status object).
func (e *Engine) apiStatus(ctx context.Context, key da.BlobKey, r *statusRecord) (*api.BlobStatus, error) {
	s := &api.BlobStatus{
		BlobKey: key, Status: r.Status, Reason: r.Reason, Length: r.Length, Rows: r.Rows,
		AcceptedAt: r.AcceptedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.Status != api.StatusCertified {
		return s, nil
	}
	if r.BatchRoot == nil {
		return nil, fmt.Errorf("%w: certified record of %s has no batch root", ErrInternal, key)
	}
	c, err := e.readCert(ctx, *r.BatchRoot)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("%w: certified record of %s names batch %s, whose certificate is missing", ErrInternal, key, *r.BatchRoot)
	}
	if err := certified(s, c, int(r.Index)); err != nil {
		return nil, err
	}
	return s, nil
}

// certified fills a certified status's batch fields from the certificate
// record c, which holds the blob at index i.
func certified(s *api.BlobStatus, c *chain.CertificateRecord, i int) error {
	blobs, root := c.Certificate.Blobs, c.Certificate.BatchRoot
	if i < 0 || i >= len(blobs) || blobs[i].Key != s.BlobKey || int(blobs[i].Rows) != s.Rows {
		return fmt.Errorf("%w: certificate %s does not hold blob %s with %d rows at index %d", ErrInternal, root, s.BlobKey, s.Rows, i)
	}
	proof, err := da.InclusionProof(blobs, i)
	if err != nil {
		return fmt.Errorf("%w: inclusion proof of %s: %v", ErrInternal, s.BlobKey, err)
	}
	var off uint32
	for _, b := range blobs[:i] {
		off += b.Rows
	}
	idx := uint32(i)
	s.Status = api.StatusCertified
	s.BatchRoot, s.Index, s.BatchSize, s.Offset, s.Proof = &root, &idx, len(blobs), &off, proof
	s.Certificate, s.Height = &c.Certificate, c.Height
	return nil
}

// chainStatus is the status of a blob this engine never held, from the
// chain: certified in the batch the chain last recorded it in, its length
// from that batch's header.
func (e *Engine) chainStatus(ctx context.Context, key da.BlobKey) (*api.BlobStatus, error) {
	if e.chain == nil {
		return nil, fmt.Errorf("%w: no blob %s", ErrNotFound, key)
	}
	rec, err := e.chain.CertificateForBlob(ctx, key)
	if chain.IsNotFound(err) {
		return nil, fmt.Errorf("%w: no blob %s here, and the chain has no certified batch holding it", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: looking blob %s up on the chain: %v", ErrUnavailable, key, err)
	}
	i := -1
	for j, b := range rec.Certificate.Blobs {
		if b.Key == key {
			i = j
		}
	}
	if i < 0 {
		return nil, fmt.Errorf("%w: the chain's certificate %s for blob %s does not name it", ErrUnavailable, rec.Certificate.BatchRoot, key)
	}
	hdr, err := e.batchHeader(ctx, rec.Certificate.BatchRoot)
	if err != nil {
		return nil, err
	}
	if hdr.Index(key) != i {
		return nil, fmt.Errorf("%w: batch %s's header places blob %s at %d, its certificate at %d", ErrUnavailable, rec.Certificate.BatchRoot, key, hdr.Index(key), i)
	}
	b := &hdr.Blobs[i]
	s := &api.BlobStatus{BlobKey: key, Length: int(b.Length), Rows: int(b.Rows)}
	if err := certified(s, rec, i); err != nil {
		return nil, err
	}
	return s, nil
}
