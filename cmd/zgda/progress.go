package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// progressPrinter shows encoder progress on stderr when it is a terminal,
// and nothing otherwise (scripts and logs get only the result).
func progressPrinter(quiet bool) (encoder.Progress, func()) {
	fi, err := os.Stderr.Stat()
	if quiet || err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil, func() {}
	}
	var mu sync.Mutex
	start := time.Now()
	last := time.Time{}
	p := func(stage encoder.Stage, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); done < total && now.Sub(last) < 100*time.Millisecond {
			return
		} else {
			last = now
		}
		fmt.Fprintf(os.Stderr, "\r\033[K%-8s %d/%d  %.1fs", stage, done, total, time.Since(start).Seconds())
	}
	return p, func() { fmt.Fprint(os.Stderr, "\r\033[K") }
}

// encodeFile reads a blob file and encodes it with the zgda/v1 codec,
// showing progress unless quiet.
func encodeFile(ctx context.Context, path string, c *codec, workers int, quiet bool) (*encoder.Encoded, error) {
	blob, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	enc, err := encoder.New(encoder.WithBackend(c.backend), encoder.WithWorkers(workers))
	if err != nil {
		return nil, err
	}
	progress, done := progressPrinter(quiet)
	e, err := enc.EncodeBlob(ctx, c.committerOr(kzg.NewContext(kzg.WithWorkers(workers))), blob, progress)
	done()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}
