package dispersal

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zgda/zgda/da"
)

// Sentinel errors.
var (
	// ErrBadInput: blobs that cannot be dispersed as given.
	ErrBadInput = errors.New("dispersal: bad input")
	// ErrNoQuorum: the current epoch has no quorum to disperse to.
	ErrNoQuorum = errors.New("dispersal: no quorum")
	// ErrInsufficientSignatures: some blob did not get the threshold of its
	// slots signed (see *ShortError).
	ErrInsufficientSignatures = errors.New("dispersal: too few signatures")
	// ErrNotFound: no holder stores the requested row, cell or blob, or the
	// chain has no certificate for the blob.
	ErrNotFound = errors.New("dispersal: not found")
	// ErrUnavailable: no holder could be reached or gave valid data.
	ErrUnavailable = errors.New("dispersal: unavailable")
	// ErrConfig: an invalid Config field (the message names it).
	ErrConfig = errors.New("dispersal: bad config")
	// ErrMalformedAnswer: a node's answer broke the wire protocol (it does
	// not decode, or exceeds the size limit of its kind).
	ErrMalformedAnswer = errors.New("malformed answer")
)

// ShortError says which blobs of a batch fell short of the threshold and
// which nodes failed.
type ShortError struct {
	Short  []BlobResult // the blobs under the threshold
	Failed []NodeResult // every node that did not contribute a valid signature
}

func (e *ShortError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "dispersal: %d blob(s) short of the signature threshold:", len(e.Short))
	for i, b := range e.Short {
		if i == 8 {
			fmt.Fprintf(&sb, " … (%d in all)", len(e.Short))
			break
		}
		fmt.Fprintf(&sb, " blob %d (%s) has %d of %d slots signed, needs %d;", b.Index, b.Key, b.Signed, b.Slots, b.Need)
	}
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
