// Package chain is zgda's chain (docs/spec.md §6): a CometBFT ABCI
// application that keeps the DA signer registry, opens epochs and fixes
// their quorums, and verifies and records DA certificates; an embedded node
// that runs it in-process; and a Client for everything that talks to it.
//
// # Why CometBFT v1.0.x
//
// v1.0 is CometBFT's current release line: ABCI 2.0 (FinalizeBlock, so a
// block's transactions are verified and applied in one call that also returns
// the app hash), the Pebble block store, and an in-process node API
// (node.NewNode with a local ABCI client). v0.38 has ABCI 2.0 too but is the
// maintenance line. v1.0.1 is the version pinned in go.mod and known to
// build here.
//
// # Model
//
// State lives in an IAVL tree (cosmos/iavl) over Pebble under the home
// (data/app), one tree version per block, saved and fsync'd at Commit; the
// app hash is the tree's root hash (iavl.go), so validators that applied the
// same transactions agree on it, and a proven query (ABCI Prove) carries an
// ICS-23 proof of every state key its answer was read from, against the app
// hash of the queried height. The last defaultKeepHeights heights are kept.
//
// Epoch e covers blocks [b + e·E, b + (e+1)·E) for genesis height b and
// params.epoch_length E. At the first block of epoch e the app
//
//   - fixes e's quorums (da.AssignQuorums, docs/spec.md §4.1) from the VRF outputs
//     submitted for e during e−1, with each signer's stake as of the block
//     that fixed seed_e (a later change is kept aside until then);
//   - fixes the seed of e+1 as SHA-256(hash of this block ‖ uint64_be(e+1))
//     and starts accepting VRF outputs for e+1 from the signers registered
//     now (a signer registered later, knowing the seed, could grind its key).
//
// The seed is fixed one epoch ahead so that outputs can be submitted before
// the epoch they select for, as docs/spec.md §4.1 requires. Epoch 0's seed is
// SHA-256(32 zero bytes ‖ uint64_be(0)) and its quorums come from VRF proofs
// in genesis.
//
// Transactions (tx.go): register/update a signer (the registrar named in
// genesis signs new signers and stake changes; nonces stop replays), submit a
// VRF proof for the next epoch (one per signer and epoch), submit a
// certificate (one per batch root). CheckTx and FinalizeBlock run the same
// checks. A certificate (docs/spec.md §4.4) is accepted iff its (key, R)
// list hashes to its batch root, the keys are distinct and non-zero, D ≤
// da.MaxBatchRows, every bitmap bit names a registered signer holding a slot
// of the batch's window (da.NewWindow with params.min_batch_slots), the
// signed weight of the window (da.Quorum.SignedWeight: every row weighs the
// same however often it is replicated) reaches params.threshold, and the
// aggregate BLS signature verifies against the sum of the signers' keys,
// each once, over da.AttestationMessage. Its epoch must have started and be
// at most params.cert_epoch_window old. Every key it names then maps to this
// batch (BlobLocation: root, index, offset, rows, height), the most recently
// recorded batch winning; lookups by key answer while the batch is within
// params.availability_epochs of the current epoch.
//
// # Running
//
// InitHome + StartNode run a single validator in-process (the devnet);
// InitNetwork writes N homes that `zgda chain start` runs. Configuration is
// config/chain.json (Config: sections with defaults and validation),
// genesis is config/genesis.json with app_state a GenesisState. The RPC
// server binds loopback unless rpc.allow_remote is set.
//
// # Errors
//
// Refused transactions carry an ABCI code (Code…) and a message saying what
// was wrong; Client returns them as *TxError, which matches the sentinels in
// errors.go with errors.Is (a certificate short of weight also gives a
// *SlotsError with the signed and total weight). Malformed config or genesis
// fails StartNode with an error naming the file and the field.
package chain
