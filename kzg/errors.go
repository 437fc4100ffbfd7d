package kzg

import (
	"errors"
	"fmt"
)

var (
	// ErrRowLength: a row does not have ScalarsPerRow elements.
	ErrRowLength = errors.New("kzg: row must have 4096 field elements")
	// ErrInvalidPoint: bytes that should be a G1 point (commitment or proof)
	// are not one: wrong length, bad encoding, not on the curve or not in
	// the prime-order subgroup.
	ErrInvalidPoint = errors.New("kzg: invalid G1 point")
	// ErrNonCanonicalScalar: 32 bytes that are not a canonical field element
	// (the big-endian integer is ≥ the BLS12-381 scalar modulus).
	ErrNonCanonicalScalar = errors.New("kzg: non-canonical field element")
	// ErrVerify: a proof does not verify.
	ErrVerify = errors.New("kzg: proof does not verify")
	// ErrBadArgument: inconsistent arguments (lengths, indices, K).
	ErrBadArgument = errors.New("kzg: bad argument")
)

// PointError says which point of an input was rejected and why.
type PointError struct {
	What   string // "commitment", "proof"
	Index  int    // position in the caller's list, or -1
	Reason string
}

func (e *PointError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("kzg: %s %d: %s", e.What, e.Index, e.Reason)
	}
	return fmt.Sprintf("kzg: %s: %s", e.What, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidPoint) hold.
func (e *PointError) Unwrap() error { return ErrInvalidPoint }
