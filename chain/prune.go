package chain

import (
	"errors"
)

// Pruning: what leaves the availability window leaves the state, so the
// state does not grow with the chain's age (docs/spec.md §6 Availability
// window).

// pruneBatchesPerEpoch bounds the batches one epoch's first block prunes;
// more wait for the next epoch.
const pruneBatchesPerEpoch = 1024

// pruneExpired runs at the first block of epoch e: it drops the blob-index
// entries (b/) of batches that have left the availability window, keeping
// a key that a newer batch has taken over, and their sequence entries, so
// the state does not grow with every blob ever certified (docs/spec.md §6
// Availability window). Certificate records stay, queryable by root.
func (a *App) pruneExpired(v view, e uint64) error {
	w := a.params.AvailabilityEpochs
	if w == 0 {
		return nil
	}
	r := stateReader{v}
	n, err := r.u64(keyBatchCount)
	if err != nil {
		return err
	}
	p, err := r.u64(keyBatchPruned)
	if err != nil {
		return err
	}
	start := p
	for ; p < n && p-start < pruneBatchesPerEpoch; p++ {
		root, ep, err := r.batchAt(p)
		if err != nil {
			return err
		}
		if ep+w >= e { // still inside the window (docs/spec.md §6)
			break
		}
		rec, err := r.cert(root)
		if err != nil {
			return err
		}
		if rec != nil {
			for _, b := range rec.Certificate.Blobs {
				loc, _, err := r.blob(b.Key)
				if err != nil {
					return err
				}
				if loc != nil && loc.BatchRoot == root {
					v.del(keyBlob(b.Key))
				}
			}
		}
		v.del(keyBatchSeq(p))
	}
	if p != start {
		putU64(v, keyBatchPruned, p)
	}
	return nil
}

// keyEpochsPruned holds the first epoch whose records pruneEpochRecords has
// not yet dropped (absent: 0).
var keyEpochsPruned = []byte("g/epochs_pruned")

// pruneKeysPerBlock bounds the per-epoch records one block drops; an epoch
// of many signers is dropped over several blocks.
var pruneKeysPerBlock = 1024 // a var so tests can make an epoch span blocks

// errPruneBudget stops a scan once a block's budget is spent.
var errPruneBudget = errors.New("chain: prune budget spent")

// pruneEpochRecords runs at every block of epoch e: it drops the records of
// the epochs x with x + availability_epochs < e, oldest first, at most
// pruneKeysPerBlock keys a block: the VRF outputs (v/), stake snapshots
// (o/), challenges (pc/) and scores (ps/) of x, then its epoch record (e/)
// and signer count (t/). No certificate for such an epoch is accepted any
// more (cert_epoch_window ≤ availability_epochs) and no challenge draws its
// batches, so nothing the chain still checks reads them.
func (a *App) pruneEpochRecords(v view, e uint64) error {
	w := a.params.AvailabilityEpochs
	if w == 0 {
		return nil
	}
	r := stateReader{v}
	x, err := r.u64(keyEpochsPruned)
	if err != nil {
		return err
	}
	budget := pruneKeysPerBlock
	start := x
	for ; x+w < e && budget > 0; x++ {
		for _, prefix := range [][]byte{prefixVRF(x), prefixSeedStake(x), prefixChallenges(x), prefixScores(x)} {
			err := v.scan(prefix, func(k, _ []byte) error {
				if budget == 0 {
					return errPruneBudget
				}
				v.del(k)
				budget--
				return nil
			})
			if err != nil && !errors.Is(err, errPruneBudget) {
				return err
			}
		}
		if budget == 0 {
			break // x is not done: the next block goes on with it
		}
		v.del(keyEpoch(x))
		v.del(keySeedSigners(x))
		delete(a.quorums, x)
	}
	if x != start {
		putU64(v, keyEpochsPruned, x)
	}
	return nil
}
