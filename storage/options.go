package storage

import (
	"io"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"
)

// Option adjusts how Open builds a Store (things that are not configuration:
// logger, clock, metrics registry).
type Option func(*options)

type options struct {
	logger     *slog.Logger
	now        func() time.Time
	registerer prometheus.Registerer
	fs         vfs.FS
	wrapFS     func(fsys) fsys // tests: fault injection and sync hooks on the volumes
}

// WithFS runs the store on fs — the metadata database, the volume manifests
// and the segments — instead of the operating system's filesystem. Tests
// pass vfs.NewCrashableMem() to simulate power loss with CrashClone, which
// keeps only what was synced.
func WithFS(fs vfs.FS) Option { return func(o *options) { o.fs = fs } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock used for write times and age-based retention
// (default time.Now). Tests use it to age data without sleeping.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRegisterer registers the Store's Prometheus collectors on r at Open
// and unregisters them at Close. Without it metrics are kept but not
// exported; nothing is ever registered on the global default registry.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.registerer = r } }

func buildOptions(opts []Option) options {
	o := options{
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:    time.Now,
	}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// PutOption adjusts one Put (or one Batch.Put).
type PutOption func(*putOptions)

type putOptions struct {
	epoch    uint64
	hasEpoch bool
}

// WithEpoch tags the value with a chain epoch, so that retention rules with
// KeepEpochs (and Prune with BeforeEpoch) can remove it.
func WithEpoch(epoch uint64) PutOption {
	return func(o *putOptions) { o.epoch, o.hasEpoch = epoch, true }
}
