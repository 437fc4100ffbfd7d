// Package dispersal is the disperser's side of the DA node protocol
// (DESIGN.md §4): it sends encoded blobs to the DA nodes of a quorum,
// collects and checks their BLS attestations, aggregates them into a
// da.Certificate, and fetches rows and cells back.
//
// # Model
//
// A Dispatcher reads the current epoch, its quorums and the signer registry
// from the chain, and picks a quorum (round robin). Each blob spans
// S = max(4K, 256) consecutive slots of the quorum; the holder of a blob's
// i-th slot stores extended row i mod 4K. Every signer holding a slot of
// the batch gets one request with the headers of every blob (it signs the
// batch root over all of them) and each distinct row of its slots once.
// Requests go out concurrently (Config.Concurrency), each with a timeout
// and retries with exponential backoff for transient failures (unreachable,
// timed out, busy). Every signature is checked against the signer's
// registered key; a bad one excludes the signer. Once every blob has
// Params.Threshold of its slots signed, the Dispatcher waits Config.Linger
// for stragglers, then aggregates the signatures (blst), builds the bitmap and
// returns the certificate, which it has checked the way the chain will.
//
// Retrieval (FetchRow, FetchCell) finds a certified blob's certificate on the
// chain, asks the holders of the row's slots in random order, and verifies
// what they send against the blob key: the header (length, K, commitments)
// must hash to the key, the row must match its derived commitment, and a
// cell must verify with its EIP-7594 proof. A node that sends bad data is
// skipped.
//
// # Errors
//
// Disperse fails with a *ShortError (matching ErrInsufficientSignatures)
// naming the blobs that fell short and every node that failed and why; its
// Report is returned either way. Input that cannot be dispersed (no blobs, a
// blob too large for the quorum, a node's share over the wire limit) fails
// with ErrBadInput before anything is sent. Fetches fail with ErrNotFound when
// no holder has the data, and ErrUnavailable when none could be reached.
package dispersal
