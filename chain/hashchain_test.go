package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// hashChainBackend is the state store zgda had before the IAVL tree, kept
// here only as the anchor of BenchmarkAppCertificates: plain Pebble, and an
// app hash that chains each block's sorted write set,
//
//	app_hash(h) = SHA-256("zgda/v1/apphash" ‖ app_hash(h−1) ‖ u64 h ‖
//	              per written key, ascending: u32 len k ‖ k ‖ (0 ‖ u32 len v ‖ v | 1))
//
// which proves nothing to a client.
type hashChainBackend struct {
	db      *pebble.DB
	staged  map[string]entry
	height  int64
	appHash []byte
	next    []byte
}

var (
	hcHeight  = []byte("m/height")
	hcAppHash = []byte("m/apphash")
)

func openHashChain(dir string) (*hashChainBackend, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	b := &hashChainBackend{db: db}
	if v, err := b.get(hcHeight); err != nil {
		return nil, err
	} else if v != nil {
		b.height = int64(binary.BigEndian.Uint64(v))
	}
	if b.appHash, err = b.get(hcAppHash); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *hashChainBackend) close() error                { return b.db.Close() }
func (b *hashChainBackend) lastHeight() (int64, []byte) { return b.height, b.appHash }

func (b *hashChainBackend) get(k []byte) ([]byte, error) {
	v, c, err := b.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return bytes.Clone(v), nil
}

func (b *hashChainBackend) scan(prefix []byte, fn func(k, v []byte) error) error {
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	return nil
}

func (b *hashChainBackend) stage(height int64, prev []byte, pending map[string]entry) ([]byte, error) {
	h := sha256.New()
	h.Write([]byte("zgda/v1/apphash"))
	h.Write(prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(height))
	h.Write(n[:])
	for _, k := range sortedKeys(pending) {
		e := pending[k]
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
	b.staged, b.next = pending, h.Sum(nil)
	return b.next, nil
}

func (b *hashChainBackend) commit(height int64) error {
	batch := b.db.NewBatch()
	defer batch.Close()
	for k, e := range b.staged {
		if e.del {
			batch.Delete([]byte(k), nil)
		} else {
			batch.Set([]byte(k), e.val, nil)
		}
	}
	batch.Set(hcHeight, binary.BigEndian.AppendUint64(nil, uint64(height)), nil)
	batch.Set(hcAppHash, b.next, nil)
	if err := batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	b.height, b.appHash = height, b.next
	return nil
}
