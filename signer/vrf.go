package signer

import (
	"fmt"

	"github.com/zgda/zgda/da"
)

// VRF computes k's VRF for an epoch (docs/spec.md §4): the proof is the BLS
// signature over da.VRFMessage(chainID, epoch, seed) and the output is its
// SHA-256.
func (k *Key) VRF(chainID string, epoch uint64, seed da.Hash) (output da.Hash, proof da.Signature) {
	proof = k.Sign(da.VRFMessage(chainID, epoch, seed)).Bytes()
	return da.VRFOutput(proof), proof
}

// VerifyVRF checks a VRF proof against pk and returns the output. It fails
// with ErrInvalidSignature for a malformed proof and ErrVerify for one that
// is not pk's signature over the epoch's VRF message.
func VerifyVRF(pk *PublicKey, chainID string, epoch uint64, seed da.Hash, proof da.Signature) (da.Hash, error) {
	sig, err := ParseSignature(proof[:])
	if err != nil {
		return da.Hash{}, fmt.Errorf("VRF proof: %w", err)
	}
	if !pk.Verify(da.VRFMessage(chainID, epoch, seed), sig) {
		return da.Hash{}, fmt.Errorf("%w: VRF proof for epoch %d is not %s's signature", ErrVerify, epoch, pk)
	}
	return da.VRFOutput(proof), nil
}
