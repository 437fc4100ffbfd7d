package chain

import (
	"bytes"
	"fmt"
	"slices"
)

// store is the app's key-value state: the committed state, and the writes
// of the block being finalized in an in-memory overlay that Commit applies.
//
// The committed state is an IAVL tree (cosmos/iavl) in its own Pebble
// database, one tree version per committed height (version = height + 1:
// the genesis state is version 1), and the app hash is the tree's root hash
// (docs/spec.md §6 State). So every key's value at a kept height can be
// proven against the app hash of that height with an ICS-23 proof, which
// light clients check against a verified header. Heights older than
// keepHeights are pruned.
type store struct {
	back    backend
	pending map[string]entry
	height  int64
	appHash []byte
}

// backend is the committed side of the store.
type backend interface {
	// get reads a committed value (nil when absent) the caller owns.
	get(k []byte) ([]byte, error)
	// scan calls fn for each committed key with prefix, ascending; fn must
	// not keep k or v.
	scan(prefix []byte, fn func(k, v []byte) error) error
	// stage applies pending (in ascending key order) on top of the
	// committed state and returns the app hash the state will have at
	// height; a second stage before commit starts again from the
	// committed state.
	stage(height int64, prevHash []byte, pending map[string]entry) ([]byte, error)
	// commit makes the staged writes durable as height (fsync'd).
	commit(height int64) error
	// lastHeight and lastHash are the committed height (0 and nil before
	// the genesis state) and its app hash.
	lastHeight() (int64, []byte)
	close() error
}

type entry struct {
	val []byte
	del bool
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(string, ...any)        {}
func (quietLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

func openStore(dir string) (*store, error) {
	b, err := openIAVL(dir, defaultKeepHeights)
	if err != nil {
		return nil, err
	}
	return newStore(b), nil
}

func newStore(b backend) *store {
	s := &store{back: b, pending: map[string]entry{}}
	s.height, s.appHash = b.lastHeight()
	return s
}

func (s *store) close() error { return s.back.close() }

// getCommitted reads the committed state (nil when absent). The result is a
// copy the caller owns.
func (s *store) getCommitted(k []byte) ([]byte, error) { return s.back.get(k) }

// scanCommitted calls fn for each committed key with prefix, ascending.
// fn must not keep k or v.
func (s *store) scanCommitted(prefix []byte, fn func(k, v []byte) error) error {
	return s.back.scan(prefix, fn)
}

// hashPending returns the app hash of height over the pending writes.
func (s *store) hashPending(height int64) ([]byte, error) {
	return s.back.stage(height, s.appHash, s.pending)
}

// commit makes the writes hashPending staged durable as height.
func (s *store) commit(height int64, appHash []byte) error {
	if err := s.back.commit(height); err != nil {
		return err
	}
	h, got := s.back.lastHeight()
	if h != height || !bytes.Equal(got, appHash) {
		return fmt.Errorf("%w: committed height %d with app hash %x, staged %d with %x", ErrInternal, h, got, height, appHash)
	}
	s.pending = map[string]entry{}
	s.height, s.appHash = h, bytes.Clone(got)
	return nil
}

// sortedKeys are pending's keys in ascending order.
func sortedKeys(pending map[string]entry) []string {
	keys := make([]string, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// view reads the state; with overlay it sees the pending writes too.
type view struct {
	s       *store
	overlay bool
	// snap, when set, is read instead of the last committed state (a query
	// at an earlier height); reads, when set, records every key get reads
	// (the keys a proven query proves).
	snap  snapshot
	reads *[][]byte
	// proving: the answer is proven key by key, so it leaves out what only
	// a range read gives (an epoch's VRF outputs).
	proving bool
}

// snapshot is the committed state at one height.
type snapshot interface {
	get(k []byte) ([]byte, error)
	scan(prefix []byte, fn func(k, v []byte) error) error
}

func (v view) get(k []byte) ([]byte, error) {
	if v.reads != nil {
		*v.reads = append(*v.reads, bytes.Clone(k))
	}
	if v.overlay {
		if e, ok := v.s.pending[string(k)]; ok {
			if e.del {
				return nil, nil
			}
			return e.val, nil
		}
	}
	if v.snap != nil {
		return v.snap.get(k)
	}
	return v.s.getCommitted(k)
}

// scan calls fn for each key with prefix, ascending, pending writes merged in.
func (v view) scan(prefix []byte, fn func(k, v []byte) error) error {
	if v.snap != nil {
		return v.snap.scan(prefix, fn)
	}
	if !v.overlay {
		return v.s.scanCommitted(prefix, fn)
	}
	merged := map[string][]byte{}
	if err := v.s.scanCommitted(prefix, func(k, val []byte) error {
		merged[string(k)] = bytes.Clone(val)
		return nil
	}); err != nil {
		return err
	}
	for k, e := range v.s.pending {
		if !bytes.HasPrefix([]byte(k), prefix) {
			continue
		}
		if e.del {
			delete(merged, k)
		} else {
			merged[k] = e.val
		}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := fn([]byte(k), merged[k]); err != nil {
			return err
		}
	}
	return nil
}

// set and del write to the overlay; the store keeps v.
func (v view) set(k, val []byte) { v.s.pending[string(k)] = entry{val: val} }
func (v view) del(k []byte)      { v.s.pending[string(k)] = entry{del: true} }
