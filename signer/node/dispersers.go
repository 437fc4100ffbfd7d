package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/storage"
)

// Registered dispersers and their quotas (docs/spec.md §5 Dispersers). A
// node takes a dispersal only from a peer whose libp2p key (authenticated
// by Noise) the chain registers as a disperser with a non-zero quota, and
// only while the batches it accepted from that disperser for the request's
// epoch, D × RowSize bytes each, stay within the quota. What was accepted
// is recorded with the rows, in the same durable write:
//
//	quota/ ‖ u64 epoch ‖ disperser[32] ‖ batch_root → u64 bytes charged
//
// so a restart forgets nothing, and a batch stored already (a retry) is
// never charged twice.
var prefixQuota = []byte("quota/")

func quotaPrefix(epoch uint64, d chain.DisperserKey) []byte {
	b := append(make([]byte, 0, len(prefixQuota)+8+32+32), prefixQuota...)
	b = binary.BigEndian.AppendUint64(b, epoch)
	return append(b, d[:]...)
}

func quotaKey(epoch uint64, d chain.DisperserKey, root da.Hash) []byte {
	return append(quotaPrefix(epoch, d), root[:]...)
}

// disperserTTL is how long a registry answer is trusted before the chain is
// asked again: a revocation or a new quota takes effect within it.
const disperserTTL = 5 * time.Second

type quotaSlot struct {
	epoch uint64
	key   chain.DisperserKey
}

// dispersers caches the chain's disperser registry and tracks each
// disperser's use of its quota.
type dispersers struct {
	client chain.Client
	store  *storage.Store

	mu    sync.Mutex
	known map[chain.DisperserKey]knownDisperser
	used  map[quotaSlot]uint64 // bytes accepted (loaded from the store on first use)
	held  map[quotaSlot]uint64 // bytes of requests being verified and stored
}

type knownDisperser struct {
	info *chain.DisperserInfo // nil: not registered
	at   time.Time
}

func newDispersers(c chain.Client, st *storage.Store) *dispersers {
	return &dispersers{client: c, store: st,
		known: map[chain.DisperserKey]knownDisperser{},
		used:  map[quotaSlot]uint64{},
		held:  map[quotaSlot]uint64{},
	}
}

// disperserKey is the registry key of a peer's libp2p public key: its raw
// ed25519 bytes.
func disperserKey(pub crypto.PubKey) (chain.DisperserKey, error) {
	if pub == nil {
		return chain.DisperserKey{}, fmt.Errorf("the connection carries no public key")
	}
	if pub.Type() != crypto.Ed25519 {
		return chain.DisperserKey{}, fmt.Errorf("the peer's key is %v; dispersers are registered by ed25519 key", pub.Type())
	}
	raw, err := pub.Raw()
	if err != nil || len(raw) != chain.DisperserKeySize {
		return chain.DisperserKey{}, fmt.Errorf("the peer's ed25519 key does not read as %d bytes (%v)", chain.DisperserKeySize, err)
	}
	return chain.DisperserKey(raw), nil
}

// lookup returns d's registration, from the cache when it is fresh.
func (r *dispersers) lookup(ctx context.Context, d chain.DisperserKey) (*chain.DisperserInfo, error) {
	r.mu.Lock()
	k, ok := r.known[d]
	r.mu.Unlock()
	if ok && time.Since(k.at) < disperserTTL {
		return k.info, nil
	}
	info, err := r.client.Disperser(ctx, d)
	switch {
	case chain.IsNotFound(err):
		info = nil
	case err != nil:
		return nil, err
	}
	r.mu.Lock()
	if len(r.known) > 4096 { // a cache, not a registry copy
		clear(r.known)
	}
	r.known[d] = knownDisperser{info: info, at: time.Now()}
	r.mu.Unlock()
	return info, nil
}

// authorize answers nil when d may disperse at all, or the refusal.
func (r *dispersers) authorize(ctx context.Context, d chain.DisperserKey) *da.DisperseResponse {
	info, err := r.lookup(ctx, d)
	switch {
	case err != nil:
		return refuse(da.CodeInternal, nil, "reading the disperser registry: %v", err)
	case info == nil:
		return refuse(da.CodeUnregistered, nil, "disperser %s is not registered on the chain; the registrar registers it with `zgda chain register-disperser`", d)
	case info.Quota == 0:
		return refuse(da.CodeUnregistered, nil, "disperser %s is registered with quota 0 (revoked)", d)
	}
	return nil
}

// reserve holds bytes of d's quota for epoch while one request is verified
// and stored. The returned commit(ok) ends the hold: with ok the bytes count
// as used (the caller stored the quota record with the rows), without they
// are given back. A refusal says how much is left.
func (r *dispersers) reserve(ctx context.Context, d chain.DisperserKey, epoch, bytes uint64) (commit func(ok bool), _ *da.DisperseResponse) {
	info, err := r.lookup(ctx, d)
	switch {
	case err != nil:
		return nil, refuse(da.CodeInternal, nil, "reading the disperser registry: %v", err)
	case info == nil || info.Quota == 0:
		return nil, refuse(da.CodeUnregistered, nil, "disperser %s is not registered with a quota", d)
	}
	slot := quotaSlot{epoch, d}
	r.mu.Lock()
	_, loaded := r.used[slot]
	r.mu.Unlock()
	if !loaded {
		used, err := r.load(ctx, slot)
		if err != nil {
			return nil, refuse(da.CodeInternal, nil, "reading disperser %s's quota use: %v", d, err)
		}
		r.mu.Lock()
		if _, ok := r.used[slot]; !ok {
			r.used[slot] = used
			r.forget(epoch)
		}
		r.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	taken := r.used[slot] + r.held[slot]
	if taken+bytes > info.Quota || taken+bytes < taken {
		return nil, refuse(da.CodeOverQuota, nil, "disperser %s has used %d of its %d bytes for epoch %d (%d more in flight); this batch needs %d",
			d, r.used[slot], info.Quota, epoch, r.held[slot], bytes)
	}
	r.held[slot] += bytes
	return func(ok bool) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.held[slot] -= bytes; r.held[slot] == 0 {
			delete(r.held, slot)
		}
		if ok {
			r.used[slot] += bytes
		}
	}, nil
}

// load adds up the quota records of slot in the store.
func (r *dispersers) load(ctx context.Context, slot quotaSlot) (uint64, error) {
	it, err := r.store.NewIter(ctx, quotaPrefix(slot.epoch, slot.key))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var sum uint64
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			return 0, err
		}
		if len(v) != 8 {
			return 0, fmt.Errorf("quota record %x of %d bytes", it.Key(), len(v))
		}
		sum += binary.BigEndian.Uint64(v)
	}
	return sum, it.Err()
}

// forget drops the counters of epochs long before epoch; the records stay
// in the store until retention prunes them. Called with r.mu held.
func (r *dispersers) forget(epoch uint64) {
	for s := range r.used {
		if s.epoch+8 < epoch {
			delete(r.used, s)
		}
	}
}
