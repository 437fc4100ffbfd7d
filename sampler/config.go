package sampler

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrConfig: an invalid Config field (the message names it).
var ErrConfig = errors.New("sampler: bad config")

// Config tunes a Sampler. DefaultConfig is for real networks.
type Config struct {
	// Samples is n, the cells drawn per batch: confidence 1 − (5/8)^n.
	Samples int
	// Concurrency bounds the requests in flight for one batch.
	Concurrency int
	// RequestTimeout bounds one request to one node, dialing included.
	RequestTimeout time.Duration
	// DialTimeout bounds connecting to a node.
	DialTimeout time.Duration
	// Retries is how many more times a node that was busy, unreachable or
	// timed out is asked for the same cell (after every other holder).
	Retries int
	// Backoff is the wait before a round of retries.
	Backoff time.Duration
}

// DefaultConfig samples 16 cells (confidence 0.99946) with timeouts for a
// real network.
func DefaultConfig() Config {
	return Config{
		Samples:        16,
		Concurrency:    16,
		RequestTimeout: 15 * time.Second, // a node computes a row's cells (FK20) on its first request
		DialTimeout:    3 * time.Second,
		Retries:        1,
		Backoff:        250 * time.Millisecond,
	}
}

// TestConfig is DefaultConfig with loopback timeouts.
func TestConfig() Config {
	c := DefaultConfig()
	c.RequestTimeout = 3 * time.Second
	c.DialTimeout = time.Second
	c.Backoff = 20 * time.Millisecond
	return c
}

// MaxSamples caps Samples: beyond this, downloading rows is cheaper.
const MaxSamples = 4096

// ValidateBasic checks the fields; the error names the one at fault.
func (c Config) ValidateBasic() error {
	switch {
	case c.Samples < 1 || c.Samples > MaxSamples:
		return fmt.Errorf("%w: samples: %d, want 1 to %d", ErrConfig, c.Samples, MaxSamples)
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return fmt.Errorf("%w: concurrency: %d, want 1 to 1024", ErrConfig, c.Concurrency)
	case c.RequestTimeout <= 0:
		return fmt.Errorf("%w: request_timeout: %v, want > 0", ErrConfig, c.RequestTimeout)
	case c.DialTimeout <= 0:
		return fmt.Errorf("%w: dial_timeout: %v, want > 0", ErrConfig, c.DialTimeout)
	case c.Retries < 0 || c.Retries > 10:
		return fmt.Errorf("%w: retries: %d, want 0 to 10", ErrConfig, c.Retries)
	case c.Backoff < 0:
		return fmt.Errorf("%w: backoff: %v, want ≥ 0", ErrConfig, c.Backoff)
	}
	return nil
}

// unavailableFraction bounds from below the fraction of a batch's N × 128
// cell grid that must be withheld to make the batch unrecoverable
// (docs/spec.md §3.6): at least 65 cells in each of at least 3D + 1 of the
// N = 4D rows, (3D + 1) · 65 / (512 · D) > 195/512 > 3/8 for every D.
const unavailableFraction = 3.0 / 8

// Confidence is the probability that n uniformly drawn cells would not all
// have been served if the batch were unrecoverable: 1 − (5/8)^n.
func Confidence(n int) float64 {
	if n <= 0 {
		return 0
	}
	return 1 - math.Pow(1-unavailableFraction, float64(n))
}

// SamplesFor is the least n whose Confidence reaches c (0 < c < 1).
func SamplesFor(c float64) (int, error) {
	if !(c > 0 && c < 1) {
		return 0, fmt.Errorf("%w: confidence %v, want strictly between 0 and 1", ErrConfig, c)
	}
	n := int(math.Ceil(math.Log(1-c) / math.Log(1-unavailableFraction)))
	// Guard the float rounding at the boundary, both ways.
	for Confidence(n) < c {
		n++
	}
	for n > 1 && Confidence(n-1) >= c {
		n--
	}
	return max(n, 1), nil
}
