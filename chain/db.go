package chain

import (
	"sync"

	dbm "github.com/cometbft/cometbft-db"
)

// guardedDB wraps each database CometBFT opens for an in-process node.
//
// CometBFT's Stop leaves the transaction index open, which would keep its
// lock and make a restart in the same process fail, so the node closes
// every database itself after Stop. And a few CometBFT goroutines (peer
// gossip) can still read the block store just after Stop has closed it;
// Pebble panics on a closed database. After Close, this wrapper answers
// reads with "not found", drops writes and gives empty iterators, which
// those goroutines handle; before Close it is a plain pass-through.
type guardedDB struct {
	mu     sync.RWMutex
	db     dbm.DB
	closed bool
	err    error
}

var _ dbm.DB = (*guardedDB)(nil)

func (g *guardedDB) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed = true
		g.err = g.db.Close()
	}
	return g.err
}

func (g *guardedDB) Get(k []byte) ([]byte, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, nil
	}
	return g.db.Get(k)
}

func (g *guardedDB) Has(k []byte) (bool, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false, nil
	}
	return g.db.Has(k)
}

func (g *guardedDB) write(f func() error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil
	}
	return f()
}

func (g *guardedDB) Set(k, v []byte) error { return g.write(func() error { return g.db.Set(k, v) }) }
func (g *guardedDB) SetSync(k, v []byte) error {
	return g.write(func() error { return g.db.SetSync(k, v) })
}
func (g *guardedDB) Delete(k []byte) error { return g.write(func() error { return g.db.Delete(k) }) }
func (g *guardedDB) DeleteSync(k []byte) error {
	return g.write(func() error { return g.db.DeleteSync(k) })
}
func (g *guardedDB) Compact(s, e []byte) error {
	return g.write(func() error { return g.db.Compact(s, e) })
}
func (g *guardedDB) Print() error { return g.write(g.db.Print) }

func (g *guardedDB) iter(f func() (dbm.Iterator, error), s, e []byte) (dbm.Iterator, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return dbm.NewMemDB().Iterator(s, e)
	}
	return f()
}

func (g *guardedDB) Iterator(s, e []byte) (dbm.Iterator, error) {
	return g.iter(func() (dbm.Iterator, error) { return g.db.Iterator(s, e) }, s, e)
}

func (g *guardedDB) ReverseIterator(s, e []byte) (dbm.Iterator, error) {
	return g.iter(func() (dbm.Iterator, error) { return g.db.ReverseIterator(s, e) }, s, e)
}

func (g *guardedDB) Stats() map[string]string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return map[string]string{}
	}
	return g.db.Stats()
}

func (g *guardedDB) NewBatch() dbm.Batch {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return dbm.NewMemDB().NewBatch()
	}
	return &guardedBatch{Batch: g.db.NewBatch(), g: g}
}

// guardedBatch drops a write that comes after its database closed.
type guardedBatch struct {
	dbm.Batch
	g *guardedDB
}

func (b *guardedBatch) Write() error     { return b.g.write(b.Batch.Write) }
func (b *guardedBatch) WriteSync() error { return b.g.write(b.Batch.WriteSync) }
