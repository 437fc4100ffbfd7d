// Package node is the DA node of zgda (DESIGN.md §4): the service a DA node
// operator runs with `zgda node start`.
//
// # Model
//
// A Node holds a BLS key (package signer), a libp2p host with an ed25519
// identity kept under its home, a storage.Store for the rows it keeps, and a
// chain.Client. On start it makes sure the chain knows it: a signer not yet
// registered is registered (which needs the registrar's key, WithRegistrar),
// and a registered one whose libp2p addresses changed updates them (no
// registrar needed). Each epoch it submits its VRF output for the next one,
// and it learns its quorum slots from the chain's epoch records.
//
// It serves three libp2p protocols (da.ProtocolDisperse, da.ProtocolRow,
// da.ProtocolCell), one request and one answer per stream, framed and
// length-limited by the da wire codec:
//
//   - dispersal: a batch's blob headers and this node's rows. The node checks
//     the request against the chain (chain id, a started and recent epoch,
//     the quorum), every header (blob key = SHA-256 of its header, K agrees
//     with the length and fits the quorum), and that it was sent exactly the
//     rows of the slots it holds. It then verifies every row of the request
//     at once by random linear combination against the blobs' data
//     commitments (kzg.VerifyExtendedRows: one 4096-point MSM and one MSM
//     over the K data commitments of the blobs; no commitment is derived),
//     naming the bad rows only when that fails. Only after the rows and headers are
//     durably stored (one storage batch) does it sign
//     da.AttestationMessage(chain_id, epoch, quorum, batch_root).
//   - rows by (blob key, row), with the blob header on request;
//   - cells by (blob key, row, cell) with their EIP-7594 proofs, computed on
//     the first request for a row and cached in storage.
//
// # Bounds
//
// Limits.MaxConcurrent dispersal requests run at once, holding at most
// Limits.MaxInflightBytes (twice each request's size: the bytes and the parsed
// field elements); a request over either bound is answered da.Busy as soon as
// its length prefix is read, before its payload is. Row and cell requests
// have their own bound (Limits.MaxQueries). Nothing queues without limit.
//
// # Errors
//
// Start fails with an error naming the config field, file or chain step at
// fault; sentinels are in errors.go. Requests are never answered with a Go
// error: a refusal carries a da.ErrorCode, a reason and, where rows are at
// fault, the list of them.
package node
