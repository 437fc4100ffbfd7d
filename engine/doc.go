// Package engine is the disperser: the pipeline that takes rollups' blobs
// over HTTP and ends with a certificate on the chain, and the reads that
// serve them back (docs/spec.md §3, §4.4, §7).
//
// # Pipeline
//
//	POST ─► intake ─► batcher ─► encoder ─► certifier ─► certified
//	        pack,      rows,      extend ×4, disperse,
//	        commit,    intake,    derive     submit the
//	        persist    wait       parity C   certificate tx
//
// The stages:
//
//   - Intake packs the body into its R rows (docs/spec.md §3.1) — the one
//     copy between the request body and the encoder — and commits to them.
//     The blob key is a hash of those commitments (§3.2), so this is the
//     one step that cannot wait for a batch; the committer goroutine still
//     commits the rows of posts that arrive together in one CommitRows
//     call (with a BlobCommitter, the CUDA one, one CommitBlobs call over
//     their bytes, packed on the device while intake packs its rows). The
//     bytes, the queued status and a pending marker are written
//     in one durable batch before 202 is sent.
//   - The batcher stacks queued blobs into one batch matrix (§3.3) by
//     cutRule: at D ≥ ceil(W/4) data rows (W = the chain's min_batch_slots:
//     smaller batches are replicated to W window slots anyway, §4.2), when
//     the next blob would pass Batcher.MaxRows (≤ 256), when no post is in
//     intake and an encoder is idle, or Batcher.MaxWait after the oldest
//     blob was queued while posts are still in intake.
//   - Encoders (Encoder.BatchConcurrency of them: one on the CPU backend,
//     two on the CUDA one, whose batches overlap on the device) make one
//     encoder.EncodeBatch call per batch: one column extension of the
//     matrix and one derivation of the 3D parity commitments in G1 (§3.4).
//     A batch's parity rows may be memory the backend lent (the CUDA
//     backend's pinned output sets); they are released once the batch is
//     final, and reads of a batch in flight copy such a row first.
//     zgda_engine_parity_batches_total counts batches by where their
//     parity rows live (lent, released, go).
//   - Certifiers (Dispersal.Concurrency of them) call Disperser.Disperse,
//     check that the certificate names the batch, and submit it with
//     chain.NewCertificateTx; failures are retried with backoff up to
//     Dispersal.Attempts, a refused certificate is dispersed again, a
//     certificate already recorded counts as landed.
//
// Statuses (queued, encoding, dispersing, certified, failed) are persisted
// at each step. Certification writes the statuses, the certificate and the
// batch header and drops the pending markers in one batch; Start re-queues
// every blob with a pending marker, asking the chain first about those that
// were being dispersed — so a SIGKILL at any point loses no accepted blob.
// The store keeps, per blob, the bytes as posted (pruned by age) and its
// status record, and per batch the header and the certificate; packed,
// parity and padding rows are never stored (records.go).
//
// Every stage is bounded: a blob holds a place (Queue.MaxPendingBlobs,
// Queue.MaxPendingBytes counted in encoder form, 4R·128 KiB) from intake
// until it is final, and a post that finds no place gets ErrQueueFull
// (HTTP 429 with Retry-After) at once; between stages at most
// Queue.Batches batches wait.
//
// # HTTP
//
// fasthttp serves docs/spec.md §7 (http.go, route.go). Request bodies are
// streamed: the announced length is checked against API.MaxBodyBytes (413),
// the body's bytes against API.MaxBodyBytesInFlight and the queue's room
// (429 with Retry-After) before the body is read, then it is read once into
// a pooled buffer that intake packs from. A client that sends
// "Expect: 100-continue" (package client does for large bodies) is refused
// before it sends anything. Paths are outside input: parsePath names
// a malformed key, root, commitment, row or cell (400) and is fuzzed. At
// most API.MaxConcurrentRequests requests run at once (429 beyond).
//
// # Reads
//
// Bytes come from the local copy, which retention prunes after
// Retention.BlobMaxAge; then, for any blob the chain has certified (on any
// instance), from the DA nodes of its batch (Disperser.Locate, BatchHeader,
// FetchRow): the blob's own data rows when they all arrive and verify, any
// D dispersed rows otherwise, decoded by encoder.DecodeBlob (§3.6). Cells of
// a batch's dispersed rows are computed (EIP-7594
// compute_cells_and_kzg_proofs) from the batch in flight or the local
// copies and cached per row, or else fetched from a DA node.
//
// # Dependencies
//
// The engine owns its interfaces: Disperser (*dispersal.Dispatcher), Chain
// (chain.Client) and Committer (*kzg.Context). Metrics live on the engine's
// own Prometheus registry (Registry, served at /metrics), among them the
// bytes of rows and headers sent to DA nodes; logs go to the slog.Logger
// given with WithLogger.
//
// # Errors
//
// Errors a client may act on wrap the sentinels of package engine/api (re-
// exported here), from which the HTTP layer takes status and code; typed
// errors carry the evidence (*FailedError, *IndexError).
package engine
