package signer

import "errors"

// Errors of the BLS key layer. Parse functions wrap them with what was wrong.
var (
	// ErrInvalidSecretKey: not 32 bytes, zero, or not below the group order.
	ErrInvalidSecretKey = errors.New("signer: invalid BLS secret key")
	// ErrInvalidPublicKey: not a canonical compressed G1 point, the point at
	// infinity, or not in the prime-order subgroup.
	ErrInvalidPublicKey = errors.New("signer: invalid BLS public key")
	// ErrInvalidSignature: not a canonical compressed G2 point, the point at
	// infinity, or not in the prime-order subgroup.
	ErrInvalidSignature = errors.New("signer: invalid BLS signature")
	// ErrVerify: a well-formed signature, proof of possession or VRF proof that
	// does not verify.
	ErrVerify = errors.New("signer: signature does not verify")
	// ErrEmptyAggregate: aggregating nothing.
	ErrEmptyAggregate = errors.New("signer: nothing to aggregate")
)
