package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// Concurrent callers of one key share one computation; errors are not kept;
// the budget evicts the least recently used values.
func TestCache(t *testing.T) {
	c := New[int](3, func(v []byte) int64 { return int64(len(v)) })
	ctx := context.Background()
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Get(ctx, 1, func() ([]byte, error) { calls.Add(1); <-release; return []byte{1}, nil })
			if err != nil || len(v) != 1 {
				t.Errorf("%v %v", v, err)
			}
		}()
	}
	// Every caller is either computing or waiting on the computation.
	for {
		c.mu.Lock()
		_, ok := c.items[1]
		c.mu.Unlock()
		if ok {
			break
		}
	}
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("%d computations for one key", calls.Load())
	}
	boom := errors.New("boom")
	if _, err := c.Get(ctx, 2, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, ok := c.Peek(2); ok {
		t.Fatal("an error was kept")
	}
	c.Get(ctx, 3, func() ([]byte, error) { return []byte{3, 3}, nil })
	c.Peek(1) // 1 is now the most recently used
	c.Get(ctx, 4, func() ([]byte, error) { return []byte{4}, nil })
	if _, ok := c.Peek(3); ok {
		t.Fatal("the least recently used value survived past the budget")
	}
	for _, k := range []int{1, 4} {
		if _, ok := c.Peek(k); !ok {
			t.Fatalf("key %d evicted", k)
		}
	}
	big, _ := c.Get(ctx, 5, func() ([]byte, error) { return make([]byte, 10), nil })
	if _, ok := c.Peek(5); ok || len(big) != 10 {
		t.Fatal("a value over the whole budget was kept")
	}
}
