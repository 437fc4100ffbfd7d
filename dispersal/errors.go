package dispersal

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zgda/zgda/da"
)

// Sentinel errors.
var (
	// ErrBadInput: a batch that cannot be dispersed as given (inconsistent
	// header, rows or commitments; more dispersed rows than a quorum has
	// slots), or a fetch for a row or cell the batch does not have.
	ErrBadInput = errors.New("dispersal: bad input")
	// ErrNoQuorum: the current epoch has no quorum to disperse to.
	ErrNoQuorum = errors.New("dispersal: no quorum")
	// ErrInsufficientSignatures: the batch's window did not get the
	// threshold of its weight signed (see *ShortError).
	ErrInsufficientSignatures = errors.New("dispersal: too few signatures")
	// ErrNotFound: no holder stores the requested row, cell or header, or
	// the chain has no certificate for the blob or batch.
	ErrNotFound = errors.New("dispersal: not found")
	// ErrUnavailable: no holder could be reached or gave valid data.
	ErrUnavailable = errors.New("dispersal: unavailable")
	// ErrConfig: an invalid Config field (the message names it).
	ErrConfig = errors.New("dispersal: bad config")
	// ErrMalformedAnswer: a node's answer broke the wire protocol (it does
	// not decode, or exceeds the size limit of its kind).
	ErrMalformedAnswer = errors.New("malformed answer")
)

// ShortError says that a batch's window fell short of the threshold, by how
// much, and which nodes failed.
type ShortError struct {
	Root   da.Hash
	Window WindowResult
	Failed []NodeResult // every node that did not contribute a valid signature
}

func (e *ShortError) Error() string {
	var sb strings.Builder
	w := e.Window
	fmt.Fprintf(&sb, "dispersal: batch %s is short of the signature threshold: signed weight %d of %d, needs %d (%d of %d window slots signed);",
		e.Root, w.Weight, w.Total, w.Need, w.SignedSlots, w.Window.S)
	fmt.Fprintf(&sb, " %d node(s) failed:", len(e.Failed))
	for i, n := range e.Failed {
		if i == 16 {
			fmt.Fprintf(&sb, " … (%d in all)", len(e.Failed))
			break
		}
		fmt.Fprintf(&sb, " %s;", n.String())
	}
	return strings.TrimSuffix(sb.String(), ";")
}

// Unwrap returns ErrInsufficientSignatures.
func (e *ShortError) Unwrap() error { return ErrInsufficientSignatures }

// refusal extracts a node's refusal from err, if it is one.
func refusal(err error) *da.RefusalError {
	var r *da.RefusalError
	if errors.As(err, &r) {
		return r
	}
	return nil
}
