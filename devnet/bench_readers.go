package devnet

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/engine/api"
)

// readLoad is the read traffic BenchE2E runs beside the posters when
// BenchOptions.Readers > 0: light clients sampling random cells of one big
// certified blob's batch from the disperser, as fast as they are answered.
type readLoad struct {
	root da.Hash
	n    int // dispersed rows of the batch

	cells    atomic.Int64 // answered 200
	refused  atomic.Int64 // answered 429
	failures atomic.Int64 // anything else
	firstErr atomic.Value // string
}

// prepareReads posts one blob of size bytes and waits until it is
// certified: the batch the readers will sample.
func prepareReads(ctx context.Context, cl *client.Client, size int) (*readLoad, error) {
	b := make([]byte, size)
	if _, err := crand.Read(b); err != nil {
		return nil, err
	}
	r, err := putRetry(ctx, cl, b, nil)
	if err != nil {
		return nil, fmt.Errorf("devnet: posting the readers' blob: %w", err)
	}
	st, err := cl.WaitCertified(ctx, r.BlobKey)
	if err != nil {
		return nil, fmt.Errorf("devnet: the readers' blob: %w", err)
	}
	batch, err := cl.GetBatch(ctx, *st.BatchRoot)
	if err != nil {
		return nil, fmt.Errorf("devnet: the readers' batch: %w", err)
	}
	return &readLoad{root: *st.BatchRoot, n: batch.DispersedRows}, nil
}

// run samples with readers goroutines until ctx ends.
func (l *readLoad) run(ctx context.Context, cl *client.Client, readers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, err := cl.GetCell(ctx, l.root, rand.IntN(l.n), rand.IntN(128))
				switch {
				case err == nil:
					l.cells.Add(1)
				case errors.Is(err, api.ErrTooManyRequests):
					l.refused.Add(1)
				case ctx.Err() != nil:
				default:
					l.failures.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	return &wg
}

// peakRSS is this process's peak resident set (VmHWM), in bytes; 0 where
// /proc does not tell.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// readReport is what the readers saw, for BenchReport.
func (l *readLoad) report(r *BenchReport, seconds float64) {
	r.CellsPerSecond = float64(l.cells.Load()) / seconds
	r.ReadsRefused = l.refused.Load()
	r.ReadFailures = l.failures.Load()
	if s, ok := l.firstErr.Load().(string); ok {
		r.ReadError = s
	}
}
