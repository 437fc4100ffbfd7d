// Package sampler is zgda's light client: data-availability sampling of
// certified blobs (DESIGN.md §3, §4).
//
// For a blob the chain has certified, a Sampler draws n distinct cells of
// the 4K × 128 extended grid at random (crypto/rand, so nodes cannot guess
// them), asks a DA node that holds each cell's row for it over
// /zgda/cell/1.0.0 (the disperser's HTTP cell endpoint is the last resort
// when one is configured), and checks every answer with EIP-7594
// verify_cell_kzg_proof_batch against that row's commitment. Row
// commitments come from the blob header, which is accepted only if it
// hashes to the blob key, so nothing a node says is trusted unchecked.
//
// Why n samples give confidence 1 − (5/8)^n: with rate 1/4 columns and
// rate 1/2 rows, the blob cannot be rebuilt only if more than 3K rows lack
// more than 64 of their 128 cells each — at least 3/4 · 1/2 = 3/8 of the
// grid withheld. Each uniformly drawn cell then fails with probability at
// least 3/8, so n good samples happen with probability at most (5/8)^n.
// n = 16 gives 0.99946; drawing without replacement only helps.
//
// A sample is OK once a verified cell arrives, Failed when every answer
// that came was wrong, and Unanswered when nobody answered. A blob is
// available only if every sample is OK. Nodes that sent wrong cells,
// proofs or headers, or malformed answers, are named as liars; nodes that
// refused, were unreachable or timed out are named too. Answers are
// verified a round at a time in one batch, and one by one only when a
// batch fails, to find the culprits.
//
// Trust: the Sampler believes the chain it queries (certificates, quorums,
// the signer registry). It does not follow CometBFT light-client headers.
package sampler
