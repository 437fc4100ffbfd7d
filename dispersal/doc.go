// Package dispersal is the disperser's side of the DA node protocol
// (docs/spec.md §4, §5): it sends an encoded batch to the DA nodes of a
// quorum, collects and checks their BLS attestations, aggregates them into a
// da.Certificate, and fetches headers, rows and cells back.
//
// # Model
//
// A Dispatcher reads the current epoch, its quorums and the signer registry
// from the chain, and picks a quorum (round robin). A batch of N dispersed
// rows spans a window of S = max(N, W) consecutive slots of the quorum
// (W = the chain's min_batch_slots; docs/spec.md §4.2); window slot i holds
// dispersed row i mod N. Every signer holding a window slot gets one request
// with the batch header and each distinct row of its slots once; each row is
// serialized once and its bytes are shared by the requests. Requests go out
// concurrently (Config.Concurrency), each with a timeout and retries with
// exponential backoff for transient failures (unreachable, timed out, busy).
// Every signature is checked against the signer's registered key; a bad one
// excludes the signer. Once the window's signed weight reaches the chain's
// threshold (da.Quorum.SignedWeight, docs/spec.md §4.4), the Dispatcher waits
// Config.Linger for stragglers, then aggregates the signatures (blst), builds
// the bitmap and returns the certificate, which it has checked the way the
// chain will. The Report counts the row and header bytes sent apart.
//
// Retrieval finds a certified blob's batch (Locate) or a batch (LocateBatch)
// on the chain, asks the holders of a row's window slots in random order,
// and verifies what they send: the batch header must hash to the batch root
// (VerifyBatchHeader), a row must match its commitment (a data row's from
// the header, a parity row's derived from them, cached per batch), a cell
// must verify with its EIP-7594 proof. A holder that sends bad data is
// skipped and named in the error.
//
// # Errors
//
// Disperse fails with a *ShortError (matching ErrInsufficientSignatures)
// saying how far the window fell short and naming every node that failed and
// why; its Report is returned either way. Input that cannot be dispersed
// (an inconsistent batch, more dispersed rows than a quorum has slots) fails
// with ErrBadInput before anything is sent. Fetches fail with ErrNotFound
// when the chain has no certificate or no holder has the data, and
// ErrUnavailable when none could be reached or every answer was bad.
package dispersal
