package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Iter walks the keys under a prefix in ascending byte order, over a
// consistent snapshot of the index taken when it was created. Values are
// read lazily by Value. An Iter is not safe for concurrent use; close it
// before closing the Store.
//
//	it, err := st.NewIter(ctx, []byte("row/"))
//	if err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		v, err := it.Value()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
type Iter struct {
	s       *Store
	ctx     context.Context
	it      *pebble.Iterator
	started bool
	key     []byte
	e       entry
	err     error
}

// NewIter returns an iterator over the keys that start with prefix (all
// keys for an empty prefix).
func (s *Store) NewIter(ctx context.Context, prefix []byte) (*Iter, error) {
	if !s.enter() {
		return nil, ErrClosed
	}
	defer s.exit()
	lower := indexKey(prefix)
	upper := prefixEnd(lower)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("storage: iterator: %w", err)
	}
	return &Iter{s: s, ctx: ctx, it: it}, nil
}

// Next advances to the next key; it returns false at the end or on error.
func (it *Iter) Next() bool {
	if it.err != nil || it.it == nil {
		return false
	}
	if err := it.ctx.Err(); err != nil {
		it.err = err
		return false
	}
	var ok bool
	if !it.started {
		ok, it.started = it.it.First(), true
	} else {
		ok = it.it.Next()
	}
	if !ok {
		it.err = it.it.Error()
		return false
	}
	it.key = it.it.Key()[1:]
	e, err := decodeEntry(it.it.Value())
	if err != nil {
		it.err = &CorruptError{Key: append([]byte{}, it.key...), Where: "index entry", Detail: err.Error()}
		return false
	}
	it.e = e
	return true
}

// Key returns the current key. It is valid until the next call to Next;
// copy it to keep it.
func (it *Iter) Key() []byte { return it.key }

// Info describes the current value without reading it.
func (it *Iter) Info() Info { return it.e.info() }

// Value reads the current value; the returned slice belongs to the caller.
// If compaction moved the value since the snapshot, the current value of
// the key is returned (or ErrNotFound if it has since been deleted).
func (it *Iter) Value() ([]byte, error) {
	if it.key == nil {
		return nil, fmt.Errorf("storage: Iter.Value called without a current key")
	}
	s := it.s
	if !s.enter() {
		return nil, ErrClosed
	}
	defer s.exit()
	if it.e.inline() {
		return append([]byte{}, it.e.Inline...), nil
	}
	v, err := s.readValue(it.key, &it.e, false)
	if errors.Is(err, errSegmentGone) {
		return s.get(it.ctx, it.key)
	}
	return v, err
}

// Err returns the error that stopped the iteration, if any.
func (it *Iter) Err() error { return it.err }

// Close releases the iterator.
func (it *Iter) Close() error {
	if it.it == nil {
		return nil
	}
	err := it.it.Close()
	it.it = nil
	return err
}
