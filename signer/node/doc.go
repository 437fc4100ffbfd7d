// Package node is the DA node of zgda (docs/spec.md §4, §5): the service a
// DA node operator runs with `zgda node start`.
//
// # Model
//
// A Node holds a BLS key (package signer), a libp2p host with an ed25519
// identity kept under its home, a storage.Store for the rows it keeps, and a
// chain.Client. On start it makes sure the chain knows it: a signer not yet
// registered is registered (which needs the registrar's key, WithRegistrar),
// and a registered one whose libp2p addresses changed updates them (no
// registrar needed). Before it creates anything it reads the chain's params
// and refuses a Storage.KeepEpochs that would prune rows inside the
// availability window (docs/spec.md §6; StorageConfig.ValidateWindow). Each
// epoch it submits its VRF output for the next one, and it learns its quorum
// slots from the chain's epoch records.
//
// It serves three libp2p protocols (da.ProtocolDisperse, da.ProtocolRow,
// da.ProtocolCell), one request and one answer per stream, framed and
// length-limited by the da wire codec:
//
//   - dispersal (docs/spec.md §4.3): a batch header (every blob header, in
//     batch order) and this node's dispersed rows. The node checks the
//     request against the chain (chain id, a started and recent epoch, the
//     quorum) and the header (canonical L and R, every key its blob header's
//     hash, D ≤ 256, N = 4D no more than the quorum's slots), computes the
//     batch's window (docs/spec.md §4.2) and refuses unless it was sent
//     exactly the dispersed rows of the window slots it holds, each once. It
//     checks that every element is canonical and that each data row it holds
//     is canonically packed (docs/spec.md §3.1), then verifies all its rows
//     at once by random linear combination against the D data commitments
//     (kzg.VerifyBatchRows: one 4096-point MSM and one D-point MSM; no
//     commitment is derived), bisecting to name the bad rows only when that
//     fails. Only after the header and the rows are durably stored (one
//     storage batch) does it sign da.AttestationMessage(chain_id, epoch,
//     quorum, batch_root).
//   - rows by (batch root, dispersed row), with the stored batch header on
//     request;
//   - cells by (batch root, dispersed row, cell) with their EIP-7594 proofs:
//     the first few distinct cells asked of a row are proved one by one
//     (kzg.ComputeCellAndProof); once 8 have been asked the whole row is
//     computed with FK20, its 128 proofs stored (6 KiB) and its cells kept
//     in a bounded memory cache (Limits.CellCacheBytes), recomputed from the
//     row when they have left it.
//
// # Bounds
//
// What a dispersal stream holds grows with what it has sent, so slow or idle
// streams cannot keep honest ones out (docs/spec.md §5): a peer has at most
// Limits.MaxPerPeer dispersal streams open (more are answered da.Busy before
// a byte is read); the length prefix must come within Limits.HeaderTimeout;
// the payload's memory is reserved as it arrives, at most
// Limits.MaxInflightBytes in all (twice each request's size: the bytes and
// the parsed field elements); and Limits.MaxConcurrent requests that have
// arrived whole are decoded, verified and stored at once. A request over a
// bound is answered da.Busy. Row and cell requests have their own bound
// (Limits.MaxQueries). Nothing queues without limit. Below all of this,
// libp2p's resource manager bounds connections and streams per peer and in
// all (P2PConfig).
//
// # Dispersers
//
// Only registered dispersers may disperse (docs/spec.md §5 Dispersers): a
// stream's peer key is looked up on the chain before a byte is read, and
// each batch is charged against the disperser's quota for its epoch, in
// the same durable write as the rows (dispersers.go).
//
// # Errors
//
// Start fails with an error naming the config field, file or chain step at
// fault; sentinels are in errors.go. Requests are never answered with a Go
// error: a refusal carries a da.ErrorCode, a reason and, where rows are at
// fault, the list of them.
package node
