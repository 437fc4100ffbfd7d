// Package sampler is zgda's light client: data-availability sampling of
// certified batches (docs/spec.md §3.5, §3.6, §4.2, §5).
//
// A blob is available when the batch the chain certified it in can be
// rebuilt, so a Sampler samples the batch: for a blob key it finds that
// batch (the chain's most recent record of the key: batch root, window,
// quorum), draws n distinct cells of the batch's N × 128 grid — the N = 4D
// dispersed rows, 128 EIP-7594 cells each — at random (crypto/rand, so nodes
// cannot guess them), asks a DA node that holds each cell's row in the
// batch's window for it over /zgda/cell/2.0.0, and checks every answer
// with EIP-7594 verify_cell_kzg_proof_batch against that row's commitment. Row commitments come from the batch header, which is accepted
// only if every blob header in it hashes to its key and the blobs hash to
// the certified batch root: data rows' commitments are the header's, parity
// rows' are derived from them in G1 (docs/spec.md §3.4). Nothing a node
// says is trusted unchecked.
//
// Why n samples give confidence 1 − (5/8)^n (docs/spec.md §3.6): a row is
// rebuilt from any 64 of its 128 cells and a cell column from any D of its
// N cells, so withholding that stops 2-D decoding misses at least 65 cells
// in each of at least 3D + 1 rows: (3D + 1) · 65 of the 512·D cells, more
// than 3/8 of the grid for every D. Each uniformly drawn cell then fails
// with probability above 3/8, so n good samples happen with probability at
// most (5/8)^n. n = 16 gives 0.99946; drawing without replacement only
// helps.
//
// A sample is OK once a verified cell arrives from a DA node, Failed when
// every answer that came was wrong, and Unanswered when nobody answered. A
// batch — and so each of its blobs — is available only if every sample is
// OK. Only the DA nodes' answers are evidence: a batch the nodes withhold
// is lost once the disperser forgets it. With WithDisperser, the disperser
// is asked afterwards for each sample no node served; its cells are
// verified and reported apart (Report.Disperser, Sample.Disperser) and
// change neither the verdict nor the confidence. Nodes
// that sent wrong cells or proofs, a batch header that does not match the
// root, or malformed answers, are named as liars; nodes that refused, were
// unreachable or timed out are named too. Answers are verified a round at a
// time in one batch, and one by one only when a batch fails, to find the
// culprits.
//
// Follow checks every batch the chain certifies, once per batch, and
// reports the verdict for each blob key of the batch.
//
// Trust: the Sampler believes the chain it queries (certificates, quorums,
// the signer registry). It does not follow CometBFT light-client headers.
package sampler
