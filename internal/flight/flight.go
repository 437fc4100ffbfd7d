// Package flight is a bounded cache that computes each key once: values
// are kept least recently used out first within a cost budget, and callers
// asking for a key being computed wait for that computation.
package flight

import (
	"container/list"
	"context"
	"sync"
)

// Cache keeps recently computed values (least recently used out first,
// within a cost budget) and computes each key once however many ask at the
// same time: the cells and proofs of a row (an FK20 run) and blobs rebuilt
// from the DA nodes are both too expensive to compute twice. It is safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	mu    sync.Mutex
	max   int64               // budget, in cost units
	cost  func(V) int64       // what a value costs
	used  int64               // cost of the values held
	items map[K]*list.Element // of *flight[K, V]
	lru   list.List
}

type flight[K comparable, V any] struct {
	k     K
	ready chan struct{}
	val   V
	err   error
	cost  int64
}

// New returns a Cache that holds values of total cost up to max, each
// value costing cost(v).
func New[K comparable, V any](max int64, cost func(V) int64) *Cache[K, V] {
	return &Cache[K, V]{max: max, cost: cost, items: map[K]*list.Element{}}
}

// Get returns the value of k: held, being computed by another caller (then
// it waits for that, or for ctx), or computed now by compute. Errors are not
// kept: the next caller tries again.
func (c *Cache[K, V]) Get(ctx context.Context, k K, compute func() (V, error)) (V, error) {
	var zero V
	c.mu.Lock()
	if el, ok := c.items[k]; ok {
		c.lru.MoveToFront(el)
		f := el.Value.(*flight[K, V])
		c.mu.Unlock()
		select {
		case <-f.ready:
		case <-ctx.Done():
			return zero, ctx.Err()
		}
		if f.err != nil {
			return zero, f.err
		}
		return f.val, nil
	}
	f := &flight[K, V]{k: k, ready: make(chan struct{})}
	el := c.lru.PushFront(f)
	c.items[k] = el
	c.mu.Unlock()

	val, err := compute()
	c.mu.Lock()
	if err != nil {
		f.err = err
		c.lru.Remove(el)
		delete(c.items, k)
	} else {
		f.val, f.cost = val, c.cost(val)
		c.used += f.cost
	}
	// Evict the least recently used finished values over the budget; a
	// value larger than the whole budget is handed out but not kept.
	for e := c.lru.Back(); e != nil && c.used > c.max; {
		prev := e.Prev()
		if o := e.Value.(*flight[K, V]); o.cost > 0 || o == f {
			c.used -= o.cost
			o.cost = 0
			c.lru.Remove(e)
			delete(c.items, o.k)
		}
		e = prev
	}
	c.mu.Unlock()
	close(f.ready)
	return val, err
}

// Peek returns k's value if it is held and finished, without computing it.
func (c *Cache[K, V]) Peek(k K) (V, bool) {
	var zero V
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return zero, false
	}
	f := el.Value.(*flight[K, V])
	select {
	case <-f.ready:
	default:
		return zero, false
	}
	if f.err != nil {
		return zero, false
	}
	c.lru.MoveToFront(el)
	return f.val, true
}
