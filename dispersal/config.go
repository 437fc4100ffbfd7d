package dispersal

import (
	"fmt"
	"time"
)

// Config tunes a Dispatcher. Zero fields take their defaults in New.
type Config struct {
	// RequestTimeout bounds one attempt at one node, from dialing to its
	// answer (the node verifies and fsyncs in between).
	RequestTimeout time.Duration
	// DialTimeout bounds connecting to a node.
	DialTimeout time.Duration
	// Retries is how many more attempts a node gets after a transient
	// failure (unreachable, timed out, busy, internal error). Refusals and
	// bad signatures are not retried.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next one
	// up to MaxBackoff (a busy node's hint is honoured if longer).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Concurrency is how many nodes are contacted at once (0: all of them).
	Concurrency int
	// Linger is how long to keep waiting for outstanding answers once every
	// blob has reached the threshold, so that the certificate carries more
	// than the bare minimum of signers.
	Linger time.Duration
	// FetchTimeout bounds one row or cell request to one node.
	FetchTimeout time.Duration
}

// DefaultConfig has generous timeouts for real networks.
func DefaultConfig() Config {
	return Config{
		RequestTimeout: 60 * time.Second,
		DialTimeout:    5 * time.Second,
		Retries:        2,
		Backoff:        200 * time.Millisecond,
		MaxBackoff:     5 * time.Second,
		Linger:         200 * time.Millisecond,
		FetchTimeout:   20 * time.Second,
	}
}

// TestConfig has short timeouts for loopback tests.
func TestConfig() Config {
	c := DefaultConfig()
	c.RequestTimeout = 20 * time.Second
	c.DialTimeout = 2 * time.Second
	c.Backoff = 20 * time.Millisecond
	c.MaxBackoff = 200 * time.Millisecond
	c.Linger = 100 * time.Millisecond
	c.FetchTimeout = 10 * time.Second
	return c
}

// ValidateBasic checks the fields; the error names the one at fault.
func (c Config) ValidateBasic() error {
	switch {
	case c.RequestTimeout <= 0:
		return fmt.Errorf("%w: request_timeout: %v, want > 0", ErrConfig, c.RequestTimeout)
	case c.DialTimeout <= 0:
		return fmt.Errorf("%w: dial_timeout: %v, want > 0", ErrConfig, c.DialTimeout)
	case c.Retries < 0 || c.Retries > 100:
		return fmt.Errorf("%w: retries: %d, want 0 to 100", ErrConfig, c.Retries)
	case c.Backoff < 0 || c.MaxBackoff < c.Backoff:
		return fmt.Errorf("%w: backoff %v / max_backoff %v: want 0 ≤ backoff ≤ max_backoff", ErrConfig, c.Backoff, c.MaxBackoff)
	case c.Concurrency < 0:
		return fmt.Errorf("%w: concurrency: %d, want ≥ 0", ErrConfig, c.Concurrency)
	case c.Linger < 0:
		return fmt.Errorf("%w: linger: %v, want ≥ 0", ErrConfig, c.Linger)
	case c.FetchTimeout <= 0:
		return fmt.Errorf("%w: fetch_timeout: %v, want > 0", ErrConfig, c.FetchTimeout)
	}
	return nil
}
