// Package encoder implements the field arithmetic of the zgda/v1 codec
// (DESIGN.md §3) over the BLS12-381 scalar field Fr:
//
//   - packing: a blob of L bytes becomes K rows of 4096 field elements, 31 bytes
//     per element (Pack, PackInto, Unpack);
//   - column extension ×4: the K rows become 4K, each column being the
//     evaluations of a polynomial of degree < K at the 4K-th roots of unity in
//     bit-reversed order, the first K rows unchanged (Encoder.Extend);
//   - row extension ×2: each row's 8192 EIP-7594 evaluations, 128 cells of 64
//     (Encoder.Cells, identical to compute_cells);
//   - reconstruction: rows from any K of the 4K (RecoverRows), a row from any 64
//     of its 128 cells (RecoverCells, EIP-7594 recover_cells' vanishing-polynomial
//     method), and 2-D iterative decoding of a partial grid of cells (Reconstruct).
//
// Extensions run on a Backend: NewCPUBackend is the pure-Go one (gnark-crypto
// FFTs, parallel over columns or rows on an explicit number of workers); a GPU
// backend implements the same interface. Decoding runs in Go. Commitments and
// proofs are package kzg's; this package does not import it.
//
// Field elements are gnark-crypto fr.Element values; as bytes they are 32-byte
// big-endian integers (EIP-4844). Evaluations are in bit-reversed order of the
// roots of unity, as in EIP-4844/7594.
//
// Errors: sentinels in errors.go, tested with errors.Is; typed errors carry the
// evidence: *CorruptError (which row and element of packed rows), *RecoveryError
// (which rows or cells are missing), *ByzantineError (which row or cell disagrees
// with the codeword decoded from the others). Bad arguments (wrong lengths,
// indices out of range) give ErrShape errors, never panics. Data that does not
// decode consistently is an error, never silently wrong elements.
package encoder
