// Package kzg implements KZG commitments over BLS12-381 with Ethereum's
// KZG-ceremony trusted setup, as zgda/v1 uses them (DESIGN.md §3):
//
//   - row commitments: EIP-4844 blob_to_kzg_commitment of a 4096-element row;
//   - derived commitments: the commitments of the column-extended rows
//     j ≥ K, computed in G1 from C_0 … C_{K−1} (a G1 FFT), never by an MSM;
//   - cells and proofs: EIP-7594 compute_cells_and_kzg_proofs (FK20);
//   - verification: EIP-7594 verify_cell_kzg_proof_batch;
//   - parsing of outside bytes: commitments, proofs and field elements are
//     checked (length, encoding, on curve, in subgroup, canonical) and
//     rejected with an error naming what is wrong.
//
// The setup points never change, so a Context precomputes window tables
// over them (internal/msm) once, lazily, and every commitment and every FK20
// proof is a fixed-base multi-scalar multiplication without doublings. That
// is what makes commitments and proofs faster than go-eth-kzg, which this
// package cross-checks in its tests and uses for cell verification.
//
// Rows are slices of fr.Element in evaluation form, in the bit-reversed
// order of the 4096th roots of unity (an EIP-4844 blob). Functions never
// modify the rows they are given.
package kzg
