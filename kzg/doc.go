// Package kzg implements KZG commitments over BLS12-381 with Ethereum's
// KZG-ceremony trusted setup, as the zgda/v2 codec uses them (docs/spec.md
// §3.2 Blob key, §3.4 Column extension, §3.5 Cells):
//
//   - row commitments: EIP-4844 blob_to_kzg_commitment of a 4096-element row;
//   - parity commitments: the commitments of a batch's parity rows (extended
//     rows K … K+3D−1), computed in G1 from the D data rows' commitments (a G1
//     FFT with the padding rows as the identity), never by an MSM over a row
//     (ParityCommitments);
//   - row verification: a batch's rows checked against its data commitments
//     by one random linear combination, bisecting only when it fails to name
//     the bad rows (VerifyBatchRows; VerifyRows for rows with known
//     commitments);
//   - cells and proofs: EIP-7594 compute_cells_and_kzg_proofs (FK20), or
//     one cell and its proof alone (compute_kzg_proof_multi_impl: a synthetic
//     division and one MSM over the monomial setup; ComputeCellAndProof);
//   - all the cells and proofs of a batch: FK20 on its D data rows only, the
//     parity rows' proofs derived per cell index in G1 from the data rows'
//     (docs/spec.md §3.5; ComputeBatchCellsAndProofs);
//   - cell verification: EIP-7594 verify_cell_kzg_proof_batch;
//   - parsing of outside bytes: commitments, proofs and field elements are
//     checked (length, encoding, on curve, in subgroup, canonical) and
//     rejected with an error naming what is wrong.
//
// The setup points never change, so a Context precomputes window tables
// over them (internal/msm) once, lazily, and every commitment, every FK20
// proof and every single-cell proof is a fixed-base multi-scalar
// multiplication without doublings. That is what makes commitments and
// proofs faster than go-eth-kzg, which this package cross-checks in its
// tests. Cells are verified here too (verify_cells.go: one pairing check
// per batch), so that a sampler never builds go-eth-kzg's prover tables.
//
// Rows are slices of fr.Element in evaluation form, in the bit-reversed
// order of the 4096th roots of unity (an EIP-4844 blob). Functions never
// modify the rows they are given.
//
// Errors: ErrBadArgument (inconsistent counts, K, indices), ErrRowLength,
// ErrInvalidPoint (a *PointError naming the input), ErrNonCanonicalScalar,
// ErrVerify (well-formed but not verifying).
package kzg
