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
//	blob/<key>  the bytes as posted (pruned by age: Retention.BlobMaxAge)
//	stat/<key>  statusRecord (JSON): status, L, K, C_0 … C_{K−1}, batch root, index
//	pend/<key>  empty; present while the blob is not certified or failed,
//	            so that a restart re-queues exactly these
//	cert/<root> chain.CertificateRecord (JSON): the certificate and its height
//
// Intake writes blob/, stat/ and pend/ in one atomic batch before it answers;
// certification writes stat/, deletes pend/ and writes cert/ in one batch.
const (
	prefixBlob = "blob/"
	prefixStat = "stat/"
	prefixPend = "pend/"
	prefixCert = "cert/"
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
	Index       uint64           `json:"index,omitempty"`
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

// readCert returns the stored certificate record for a batch root.
func (e *Engine) readCert(ctx context.Context, root da.Hash) (*chain.CertificateRecord, error) {
	raw, err := e.store.Get(ctx, storeKey(prefixCert, root))
	if err != nil {
		return nil, fmt.Errorf("%w: reading certificate %s: %v", ErrInternal, root, err)
	}
	var c chain.CertificateRecord
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%w: certificate record %s is corrupt: %v", ErrInternal, root, err)
	}
	return &c, nil
}

// apiStatus renders a stored record (and, once certified, its certificate).
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
	proof, err := da.MerkleProof(c.Certificate.Keys(), int(r.Index))
	if err != nil {
		return nil, fmt.Errorf("%w: Merkle proof of %s: %v", ErrInternal, key, err)
	}
	root, idx := *r.BatchRoot, r.Index
	s.Certificate, s.BatchRoot, s.BlobIndex, s.MerkleProof, s.Height = &c.Certificate, &root, &idx, proof, c.Height
	return s, nil
}
