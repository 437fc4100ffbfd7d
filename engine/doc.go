// Package engine is the disperser (DESIGN.md §1, §7): the pipeline that
// takes rollups' blobs over HTTP and ends with a certificate on the chain,
// and the reads that serve them back.
//
// # Pipeline
//
//	POST ─► intake ─► batcher ─► encoder ─► certifier ─► certified
//	        pack,      bytes,     extend ×4, disperse,
//	        commit,    blobs or   derive     submit the
//	        persist    wait       C_j        certificate tx
//
// The stages:
//
//   - Intake packs the body into field elements — the one copy between
//     the request body and the encoder; the rows are allocated once per
//     blob with room for the extension — and commits to the K data rows.
//     The blob key is a hash of those commitments, so this is the one
//     step that cannot wait for a batch; the committer goroutine still
//     commits the rows of posts that arrive together in one CommitRows
//     call. The bytes, the queued status and a pending marker are written
//     in one durable batch before 202 is sent.
//   - The batcher cuts batches at Batcher.MaxBytes, MaxBlobs or MaxWait.
//   - The encoder extends each blob's columns into the rows allocated at
//     intake and derives the 3K extra commitments in G1.
//   - Certifiers (Dispersal.Concurrency of them) call Disperser.Disperse,
//     check that the certificate names the batch, and submit it with
//     chain.NewCertificateTx; failures are retried with backoff up to
//     Dispersal.Attempts, a refused certificate is dispersed again, a
//     certificate already recorded counts as landed.
//
// Statuses (queued, encoding, dispersing, certified, failed) are persisted
// at each step. Certification writes the status, the certificate and drops
// the pending marker in one batch; Start re-queues every blob with a
// pending marker, asking the chain first about those that were being
// dispersed — so a SIGKILL at any point loses no accepted blob.
//
// Every stage is bounded: a blob holds a place (Queue.MaxPendingBlobs,
// Queue.MaxPendingBytes counted in encoder form, 4K·128 KiB) from intake
// until it is final, and a post that finds no place gets ErrQueueFull
// (HTTP 429 with Retry-After) at once; between stages at most
// Queue.Batches batches wait.
//
// # HTTP
//
// fasthttp serves DESIGN.md §7 (http.go, route.go). Request bodies are
// streamed: the announced length is checked against API.MaxBodyBytes (413),
// the body's bytes against API.MaxBodyBytesInFlight and the queue's room
// (429 with Retry-After) before the body is read, then it is read once into
// a pooled buffer that intake packs from. A client that sends
// "Expect: 100-continue" (package client does for large bodies) is refused
// before it sends anything. Paths are outside input: parsePath names
// a malformed key, commitment, row or cell (400) and is fuzzed. At most
// API.MaxConcurrentRequests requests run at once (429 beyond).
//
// # Reads
//
// Bytes come from the local copy, which retention prunes after
// Retention.BlobMaxAge; then from any K rows fetched from the DA nodes
// (Disperser.FetchRow), each checked against its commitment by
// encoder.DecodeBlob. Cells are computed per extended row (EIP-7594
// compute_cells_and_kzg_proofs) and cached.
//
// # Dependencies
//
// The engine owns its interfaces: Disperser (dispersal), Chain
// (chain.Client) and Committer (*kzg.Context). Metrics live on the
// engine's own Prometheus registry (Registry, served at /metrics); logs go
// to the slog.Logger given with WithLogger.
//
// # Errors
//
// Errors a client may act on wrap the sentinels of package engine/api (re-
// exported here), from which the HTTP layer takes status and code; typed
// errors carry the evidence (*FailedError, *IndexError).
package engine
