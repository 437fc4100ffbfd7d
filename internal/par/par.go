// Package par runs loops over index ranges on a bounded number of
// goroutines. It is for CPU-bound work with nothing to cancel; code that
// needs a context or errors keeps its own loop (see encoder's forEach).
package par

import (
	"runtime"
	"sync"
)

// Range runs fn over [0, n) split into contiguous ranges, one per goroutine,
// on up to workers goroutines (0 or less = GOMAXPROCS) and never fewer than
// minChunk indices each. It returns when every call has returned.
func Range(n, workers, minChunk int, fn func(lo, hi int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if minChunk < 1 {
		minChunk = 1
	}
	workers = min(workers, n/minChunk)
	if workers <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		lo, hi := i*n/workers, (i+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
