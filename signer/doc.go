// Package signer is the DA node's side of zgda (docs/spec.md §4). This file set
// holds its BLS key layer, which the chain also uses to check registrations,
// VRF outputs and certificates.
//
// BLS12-381 in the min-pk setting (public keys in G1, 48 bytes compressed;
// signatures in G2, 96 bytes), through github.com/supranational/blst, with the
// IETF BLS signature draft's proof-of-possession ciphersuite:
// signatures use DST BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ and proofs
// of possession (a signature over the compressed public key) use
// BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_. Because every registered key
// carries a proof of possession, aggregates over one message are checked with
// FastAggregateVerify (one pairing check against the sum of the keys).
//
// The VRF of docs/spec.md §4.1 is a BLS signature over
// "zgda/v1/vrf" ‖ chain_id ‖ uint64_be(epoch) ‖ seed; its output is the
// SHA-256 of the signature. BLS signatures are unique, so anyone holding the
// public key can check an output.
//
// Error contract: parsing never panics on outside bytes; it returns an error
// wrapping ErrInvalidSecretKey, ErrInvalidPublicKey or ErrInvalidSignature.
// Verification functions return false, or ErrVerify where an error is due.
// Parsed keys and signatures have passed the subgroup and infinity checks,
// so verification does not repeat them.
package signer
