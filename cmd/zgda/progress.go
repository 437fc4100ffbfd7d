package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/zgda/zgda/encoder"
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
