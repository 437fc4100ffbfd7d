package chain

import (
	"bytes"
	"encoding/binary"
	"fmt"

	dbm "github.com/cosmos/cosmos-db"
	"github.com/cosmos/iavl"
	idb "github.com/cosmos/iavl/db"
	ics23 "github.com/cosmos/ics23/go"
)

// defaultKeepHeights is how many committed heights of state the app keeps
// for proofs at a stated height before it knows its params; then it keeps
// keepHeights (docs/spec.md §6 State). Older versions are pruned.
const defaultKeepHeights = 10_000

// keepHeights is the state history kept on a chain with params p: the
// availability window's heights (availability_epochs × epoch_length, at
// least defaultKeepHeights), or all of it when the window is unbounded.
func keepHeights(p Params) int64 {
	w := p.AvailabilityEpochs
	if w == 0 || w > (1<<62)/max(p.EpochLength, 1) {
		return 0
	}
	return max(int64(w*p.EpochLength), defaultKeepHeights)
}

// iavlBackend keeps the committed state in an IAVL tree, one version per
// commit: version 1 is the genesis state (committed as height 0), version
// 2 + (h − b₀) the state after block h, b₀ being the genesis initial
// height. A version's root hash is the app hash of its height.
type iavlBackend struct {
	db   dbm.DB
	tree *iavl.MutableTree
	last *iavl.ImmutableTree // the last saved version; nil before genesis
	base int64               // b₀, read from the genesis state (g/base)
	keep int64
}

// version is the tree version of the state after height h.
func (b *iavlBackend) version(h int64) int64 {
	if h == 0 {
		return 1
	}
	return h - b.base + 2
}

// heightOf is the height whose state tree version v holds.
func (b *iavlBackend) heightOf(v int64) int64 {
	if v <= 1 {
		return 0
	}
	return v - 2 + b.base
}

func openIAVL(dir string, keep int64) (*iavlBackend, error) {
	db, err := dbm.NewPebbleDB("state", dir, nil)
	if err != nil {
		return nil, fmt.Errorf("chain: opening app state in %s: %w", dir, err)
	}
	// A node cache of 500,000 (about 100 MB at most) keeps a block's paths
	// in memory: at 20,000 every block read nodes back from Pebble.
	tree := iavl.NewMutableTree(idb.NewWrapper(db), 500_000, true, iavl.NewNopLogger(), iavl.SyncOption(true))
	v, err := tree.Load()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("chain: loading app state in %s: %w", dir, err)
	}
	b := &iavlBackend{db: db, tree: tree, keep: keep}
	if v > 0 {
		if b.last, err = tree.GetImmutable(v); err != nil {
			db.Close()
			return nil, fmt.Errorf("chain: app state version %d: %w", v, err)
		}
		raw, err := b.last.Get(keyBase)
		if err != nil || len(raw) != 8 {
			db.Close()
			return nil, fmt.Errorf("chain: app state version %d has no initial height (%v)", v, err)
		}
		b.base = int64(binary.BigEndian.Uint64(raw))
	}
	return b, nil
}

func (b *iavlBackend) close() error { return b.db.Close() }

func (b *iavlBackend) lastHeight() (int64, []byte) {
	if b.last == nil {
		return 0, nil
	}
	return b.heightOf(b.last.Version()), b.last.Hash()
}

func (b *iavlBackend) get(k []byte) ([]byte, error) {
	if b.last == nil {
		return nil, nil
	}
	v, err := b.last.Get(k)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %q: %v", ErrInternal, k, err)
	}
	return bytes.Clone(v), nil
}

func (b *iavlBackend) scan(prefix []byte, fn func(k, v []byte) error) error {
	if b.last == nil {
		return nil
	}
	return scanTree(b.last, prefix, fn)
}

func scanTree(t *iavl.ImmutableTree, prefix []byte, fn func(k, v []byte) error) error {
	it, err := t.Iterator(prefix, prefixEnd(prefix), true)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	return nil
}

func (b *iavlBackend) stage(height int64, _ []byte, pending map[string]entry) ([]byte, error) {
	if height == 0 {
		e, ok := pending[string(keyBase)]
		if !ok || len(e.val) != 8 {
			return nil, fmt.Errorf("%w: the genesis state carries no initial height", ErrInternal)
		}
		b.base = int64(binary.BigEndian.Uint64(e.val))
	}
	if got, want := b.version(height), b.nextVersion(); got != want {
		return nil, fmt.Errorf("%w: staging height %d (version %d), the next version is %d", ErrInternal, height, got, want)
	}
	b.tree.Rollback() // a second stage starts afresh
	// IAVL's shape depends on the order of writes: ascending, as on every
	// validator.
	for _, k := range sortedKeys(pending) {
		e := pending[k]
		var err error
		if e.del {
			_, _, err = b.tree.Remove([]byte(k))
		} else {
			_, err = b.tree.Set([]byte(k), e.val)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: staging %q: %v", ErrInternal, k, err)
		}
	}
	return b.tree.WorkingHash(), nil
}

func (b *iavlBackend) nextVersion() int64 {
	if b.last == nil {
		return 1
	}
	return b.last.Version() + 1
}

func (b *iavlBackend) commit(height int64) error {
	_, v, err := b.tree.SaveVersion()
	if err != nil {
		return fmt.Errorf("%w: committing app state: %v", ErrInternal, err)
	}
	if v != b.version(height) {
		return fmt.Errorf("%w: committed version %d for height %d", ErrInternal, v, height)
	}
	if b.last, err = b.tree.GetImmutable(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	if old := v - b.keep; b.keep > 0 && old >= 1 {
		if err := b.tree.DeleteVersionsTo(old); err != nil {
			return fmt.Errorf("%w: pruning app state to version %d: %v", ErrInternal, old, err)
		}
	}
	return nil
}

// treeSnapshot is one version of the tree, read as a snapshot.
type treeSnapshot struct{ t *iavl.ImmutableTree }

func (s treeSnapshot) get(k []byte) ([]byte, error) {
	v, err := s.t.Get(k)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %q: %v", ErrInternal, k, err)
	}
	return bytes.Clone(v), nil
}

func (s treeSnapshot) hash() []byte { return s.t.Hash() }

func (s treeSnapshot) scan(prefix []byte, fn func(k, v []byte) error) error {
	return scanTree(s.t, prefix, fn)
}

// snapshot is the state after height h.
func (b *iavlBackend) snapshot(h int64) (snapshot, error) {
	t, err := b.at(h)
	if err != nil {
		return nil, err
	}
	return treeSnapshot{t}, nil
}

// at is the state after height h (an error when it is not kept).
func (b *iavlBackend) at(h int64) (*iavl.ImmutableTree, error) {
	if b.last != nil && h == b.heightOf(b.last.Version()) {
		return b.last, nil
	}
	t, err := b.tree.GetImmutable(b.version(h))
	if err != nil {
		return nil, fmt.Errorf("%w: the state at height %d is not kept: %v", ErrNotFound, h, err)
	}
	return t, nil
}

// prove returns the ICS-23 proof of key in the state after height h: of
// its value when it exists, of its absence otherwise.
func (b *iavlBackend) prove(h int64, key []byte) (*ics23.CommitmentProof, error) {
	t, err := b.at(h)
	if err != nil {
		return nil, err
	}
	p, err := t.GetProof(key)
	if err != nil {
		return nil, fmt.Errorf("%w: proving %q at height %d: %v", ErrInternal, key, h, err)
	}
	return p, nil
}
