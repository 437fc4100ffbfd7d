// Package encoder implements the zgda/v2 codec (docs/spec.md §3.1 Packing …
// §3.7 Batch root) over the BLS12-381 scalar field Fr:
//
//   - packing: a blob of L bytes becomes R = ceil(L / 126,976) rows of 4096
//     field elements, 31 bytes per element, with no rounding of R (Pack,
//     PackInto, Unpack, CheckCanonicalRow: the canonical-packing check DA
//     nodes apply to data rows);
//   - blobs: a blob's rows committed (EIP-4844 blob_to_kzg_commitment) and
//     named by its key, SHA-256 over L, R and the commitments (CommitBlob,
//     NewBlob, BlobKey);
//   - batches: the blobs posted together stacked into one matrix of D = Σ R_i
//     data rows, padded with zero rows to K, the smallest power of two ≥ D,
//     extended by columns ×4 (each column the evaluations of a polynomial of
//     degree < K at the 4K-th roots of unity in bit-reversed order); the
//     batch's N = 4D dispersed rows are the D data rows and extended rows
//     K … K+3D−1, whose commitments are derived in G1 (EncodeBatch,
//     EncodeBlob for a batch of one); the padding rows are never stored,
//     sent or committed;
//   - cells: each row's 8192 EIP-7594 evaluations, 128 cells of 64
//     (Encoder.Cells, identical to compute_cells);
//   - reconstruction: a batch's data rows from any D of its N dispersed rows,
//     every row verified against the commitments first (DecodeBatch,
//     DecodeBlob); 2-D iterative decoding of a partial grid of cells
//     (ReconstructBatch); and the building blocks on the 4K extended grid:
//     rows from any K of the 4K (RecoverRows), a row from any 64 of its 128
//     cells (RecoverCells, EIP-7594 recover_cells' vanishing-polynomial
//     method), a grid of cells (Reconstruct);
//   - an encoded directory of a batch on disk (WriteDir, ReadDir).
//
// Extensions run on a Backend: NewCPUBackend is the pure-Go one (gnark-crypto
// FFTs, parallel over columns or rows on an explicit number of workers); the
// CUDA backend (package cuda) implements the same interface. Commitments,
// their derivation and row verification go through a Committer, which
// *kzg.Context implements (and so does the CUDA committer); this package
// uses package kzg's types for commitments and rows to verify. Decoding runs
// in Go.
//
// Field elements are gnark-crypto fr.Element values; as bytes they are 32-byte
// big-endian integers (EIP-4844). Evaluations are in bit-reversed order of the
// roots of unity, as in EIP-4844/7594.
//
// Errors: sentinels in errors.go, tested with errors.Is; typed errors carry the
// evidence: *CorruptError (which row and element are not canonically packed),
// *RecoveryError (which rows or cells are missing), *ByzantineError (which row
// or cell disagrees with the codeword decoded from the others),
// *RowsRejectedError (which supplied rows do not match their commitments).
// Bad arguments (wrong lengths, indices out of range) give ErrShape errors,
// never panics. Data that does not decode to the committed rows is an error,
// never silently wrong bytes.
package encoder
