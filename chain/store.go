package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// store is the app's key-value state: committed data in Pebble, and the
// writes of the block being finalized in an in-memory overlay that Commit
// writes in one synced batch with the new height and app hash.
//
// The app hash chains the blocks' write sets:
//
//	app_hash(h) = SHA-256("zgda/v1/apphash" ‖ app_hash(h−1) ‖ uint64_be(h) ‖
//	              for each written key in ascending order:
//	              uint32_be(len k) ‖ k ‖ (0x00 ‖ uint32_be(len v) ‖ v | 0x01 for a delete))
//
// so two validators agree on it iff they applied the same writes in every
// block, at O(writes) cost per block and without a Merkle tree over the state.
// (The cost: no state proofs for light clients; queries trust the node.)
type store struct {
	db      *pebble.DB
	pending map[string]entry
	height  int64
	appHash []byte
}

type entry struct {
	val []byte
	del bool
}

var (
	metaHeight  = []byte("m/height")
	metaAppHash = []byte("m/apphash")
)

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(string, ...any)        {}
func (quietLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

func openStore(dir string) (*store, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("chain: opening app state in %s: %w", dir, err)
	}
	s := &store{db: db, pending: map[string]entry{}}
	if v, err := s.getCommitted(metaHeight); err != nil {
		db.Close()
		return nil, err
	} else if v != nil {
		s.height = int64(binary.BigEndian.Uint64(v))
	}
	if s.appHash, err = s.getCommitted(metaAppHash); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *store) close() error { return s.db.Close() }

// getCommitted reads the committed state (nil when absent). The result is a
// copy the caller owns.
func (s *store) getCommitted(k []byte) ([]byte, error) {
	v, c, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading %q: %v", ErrInternal, k, err)
	}
	out := bytes.Clone(v)
	c.Close()
	return out, nil
}

// scanCommitted calls fn for each committed key with prefix, ascending.
// fn must not keep k or v.
func (s *store) scanCommitted(prefix []byte, fn func(k, v []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	return nil
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

// hashPending returns the app hash of height over the pending writes.
func (s *store) hashPending(height int64) []byte {
	keys := make([]string, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	h.Write([]byte("zgda/v1/apphash"))
	h.Write(s.appHash)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(height))
	h.Write(n[:])
	for _, k := range keys {
		e := s.pending[k]
		binary.BigEndian.PutUint32(n[:4], uint32(len(k)))
		h.Write(n[:4])
		h.Write([]byte(k))
		if e.del {
			h.Write([]byte{1})
			continue
		}
		h.Write([]byte{0})
		binary.BigEndian.PutUint32(n[:4], uint32(len(e.val)))
		h.Write(n[:4])
		h.Write(e.val)
	}
	return h.Sum(nil)
}

// commit writes the pending writes, height and appHash in one synced batch.
func (s *store) commit(height int64, appHash []byte) error {
	b := s.db.NewBatch()
	defer b.Close()
	for k, e := range s.pending {
		var err error
		if e.del {
			err = b.Delete([]byte(k), nil)
		} else {
			err = b.Set([]byte(k), e.val, nil)
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInternal, err)
		}
	}
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(height))
	if err := b.Set(metaHeight, hb[:], nil); err != nil {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	if err := b.Set(metaAppHash, appHash, nil); err != nil {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("%w: committing app state: %v", ErrInternal, err)
	}
	s.pending = map[string]entry{}
	s.height = height
	s.appHash = bytes.Clone(appHash)
	return nil
}

// view reads the state; with overlay it sees the pending writes too.
type view struct {
	s       *store
	overlay bool
}

func (v view) get(k []byte) ([]byte, error) {
	if v.overlay {
		if e, ok := v.s.pending[string(k)]; ok {
			if e.del {
				return nil, nil
			}
			return e.val, nil
		}
	}
	return v.s.getCommitted(k)
}

// scan calls fn for each key with prefix, ascending, pending writes merged in.
func (v view) scan(prefix []byte, fn func(k, v []byte) error) error {
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
