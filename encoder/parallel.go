package encoder

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// workerCount resolves a worker setting: 0 means runtime.NumCPU().
func workerCount(n int) int {
	if n <= 0 {
		return runtime.NumCPU()
	}
	return n
}

// forEach runs body over [0, n) in chunks of at most chunk indices on up to
// workers goroutines, which it owns and waits for. Each worker calls newState
// once (its scratch) and passes it to every body call. It stops at the first
// error or when ctx is done, and returns that error.
func forEach[S any](ctx context.Context, workers, n, chunk int, newState func() S, body func(s S, lo, hi int) error) error {
	if n <= 0 {
		return ctx.Err()
	}
	if chunk < 1 {
		chunk = 1
	}
	chunks := (n + chunk - 1) / chunk
	workers = min(workerCount(workers), chunks)
	var (
		next    atomic.Int64
		stop    atomic.Bool
		errOnce sync.Once
		first   error
	)
	fail := func(err error) {
		errOnce.Do(func() { first = err })
		stop.Store(true)
	}
	work := func() {
		s := newState()
		for !stop.Load() {
			c := int(next.Add(1)) - 1
			if c >= chunks {
				return
			}
			if err := ctx.Err(); err != nil {
				fail(err)
				return
			}
			lo := c * chunk
			if err := body(s, lo, min(lo+chunk, n)); err != nil {
				fail(err)
				return
			}
		}
	}
	if workers == 1 {
		work()
		return first
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
	return first
}

func noState() struct{} { return struct{}{} }
