package engine

import (
	"errors"
	"fmt"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/engine/api"
)

// Sentinel errors. Those a client may act on are api's sentinels, so the
// HTTP layer derives status and code from them and package client returns
// errors that match the same values under errors.Is.
var (
	// ErrConfig: a configuration that fails validation; the message names
	// the section and field.
	ErrConfig = errors.New("engine: bad config")
	// ErrClosed: the engine is shutting down (HTTP 503 shutting_down with
	// Retry-After; 429 on the alt-DA /put, where 503 means "fail over").
	ErrClosed = fmt.Errorf("engine: %w", api.ErrShuttingDown)

	ErrEmptyBlob       = api.ErrEmptyBlob       // 400 empty_blob
	ErrBlobTooLarge    = api.ErrBlobTooLarge    // 413 blob_too_large
	ErrNotFound        = api.ErrNotFound        // 404 not_found: the engine knows no such blob
	ErrQueueFull       = api.ErrQueueFull       // 429 queue_full
	ErrNotYetCertified = api.ErrNotYetCertified // 409 not_yet_certified: known, not certified (yet)
	ErrNotCertified    = api.ErrNotCertified    // 503 not_certified: not certified in time, or failed
	ErrUnavailable     = api.ErrUnavailable     // 503 unavailable: the data cannot be served now
	ErrInvalidRow      = api.ErrInvalidRow      // 400 invalid_row
	ErrInvalidCell     = api.ErrInvalidCell     // 400 invalid_cell
	ErrInvalidBlobKey  = api.ErrInvalidBlobKey  // 400 invalid_blob_key
	ErrInvalidRoot     = api.ErrInvalidRoot     // 400 invalid_batch_root
	ErrInvalidCommit   = api.ErrInvalidCommit   // 400 invalid_commitment
	ErrInternal        = api.ErrInternal        // 500 internal: storage or a broken invariant
)

// FailedError says that a blob ended in the failed status, and why. It
// matches ErrNotCertified under errors.Is.
type FailedError struct {
	Key    da.BlobKey
	Reason string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("blob %s failed: %s", e.Key, e.Reason)
}

// Unwrap returns ErrNotCertified.
func (e *FailedError) Unwrap() error { return ErrNotCertified }

// IndexError names a dispersed row or cell index outside the batch's range
// (rows [0, N), cells [0, 128)). It matches
// ErrInvalidRow or ErrInvalidCell under errors.Is.
type IndexError struct {
	What  string // "row" or "cell"
	Index int
	Limit int // valid indices are [0, Limit)
}

func (e *IndexError) Error() string {
	return fmt.Sprintf("%s %d out of range: this batch has %ss [0, %d)", e.What, e.Index, e.What, e.Limit)
}

// Unwrap returns ErrInvalidRow or ErrInvalidCell.
func (e *IndexError) Unwrap() error {
	if e.What == "cell" {
		return ErrInvalidCell
	}
	return ErrInvalidRow
}
