package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is the integrated storage layer: a key/value store whose index lives
// in Pebble and whose values live in an erasure-coded segment log. It is safe
// for concurrent use.
type Store struct {
	cfg   Config
	opts  options
	log   *slog.Logger
	db    *pebble.DB
	fs    fsys // volumes: segments and manifests
	codec *codec
	vols  []volume
	man   storeManifest
	segs  segTable
	ctr   counters
	colls []prometheus.Collector

	queue      chan *request
	commitDone chan struct{}
	cm         committerState // owned by whoever holds commitMu
	// commitMu is held by the committer goroutine except while it waits
	// idle, and by a caller that found it idle and runs its own group
	// (lead); handoff is a group such a caller left in flight for the
	// committer to finish, and kick wakes the committer for it.
	commitMu sync.Mutex
	handoff  *flight
	kick     chan struct{}

	closeMu sync.RWMutex // public calls hold it shared; Close exclusively
	closed  bool
	failed  atomic.Pointer[error]

	health   []*volHealth           // per volume, then one for the metadata directory
	metaRO   bool                   // the metadata database is open read-only (its disk was full at Open)
	writers  []*volWriter           // per volume: its group writes and syncs, in log order
	fsGroup  []int                  // per volume: volumes with the same number share a filesystem (syncBarrier)
	nfsGroup int                    // how many filesystem groups fsGroup numbers
	readOnly atomic.Pointer[string] // why the store refuses writes, nil when it does not

	bgCtx    context.Context
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup

	epoch    atomic.Uint64
	epochSet atomic.Bool

	compactMu sync.Mutex // one compaction at a time
	scrubMu   sync.Mutex // one scrub pass at a time
}

// Open opens (or creates) the store described by cfg. It checks the volume
// set against the one recorded at creation, replays the log written since the
// last checkpoint, and starts the committer and the background scrubber,
// compactor and pruner (those with a non-zero interval). A damaged log
// record with intact records after it fails Open with a *CorruptError (see
// Check and Repair); a torn tail left by a crash is dropped.
func Open(cfg Config, opts ...Option) (*Store, error) {
	s, _, err := open(cfg, replayOpen, opts)
	return s, err
}

// open builds the store and replays the log in the given mode. With
// replayCheck it returns a store with no committer, to be closed with
// closeParts.
func open(cfg Config, mode replayMode, opts []Option) (*Store, *LogReport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if mode == replayCheck {
		cfg.Volumes.AllowReplace = false // Check adopts nothing
	}
	o := buildOptions(opts)
	s := &Store{cfg: cfg, opts: o, log: o.logger.With("component", "storage")}
	for range len(cfg.Volumes.Paths) + 1 {
		s.health = append(s.health, &volHealth{})
	}

	s.fs = osFS{}
	popts := &pebble.Options{Logger: pebbleLogger{s.log}}
	if cfg.Index.CacheBytes > 0 {
		cache := pebble.NewCache(cfg.Index.CacheBytes)
		defer cache.Unref() // Pebble holds its own reference
		popts.Cache = cache
	}
	if bits := cfg.Index.BloomBitsPerKey; bits > 0 {
		for i := range popts.Levels {
			popts.Levels[i].FilterPolicy = bloom.FilterPolicy(bits)
		}
	}
	if o.fs != nil {
		s.fs = vfsFS{o.fs}
		popts.FS = o.fs
	}
	if o.wrapFS != nil {
		s.fs = o.wrapFS(s.fs)
	}
	if err := s.fs.MkdirAll(cfg.Dir); err != nil {
		return nil, nil, fmt.Errorf("storage: creating metadata directory %s: %w", cfg.Dir, err)
	}
	// A full metadata disk opens read-only instead of failing (or worse,
	// Pebble aborting) at every start: reads go on, writes are refused.
	if min := cfg.Volumes.MinFreeBytes; min > 0 && mode != replayCheck {
		if free, err := s.fs.Avail(cfg.Dir); err == nil && free < uint64(min) {
			if pebbleExists(s.fs, cfg.Dir) {
				msg := fmt.Sprintf("the metadata directory %s has %d bytes free, below storage.volumes.min_free_bytes (%d): opened read-only; free space and restart the node to write again",
					cfg.Dir, free, min)
				s.readOnly.Store(&msg)
				s.metaRO = true
				popts.ReadOnly = true
				mode = replayCheck
				s.log.Error("metadata disk full; opening read-only", "detail", msg)
			} else {
				return nil, nil, fmt.Errorf("%w: the metadata directory %s has %d bytes free, below storage.volumes.min_free_bytes (%d); a new store cannot be created there",
					ErrReadOnly, cfg.Dir, free, min)
			}
		}
	}
	db, err := pebble.Open(cfg.Dir, popts)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: opening metadata database in %s (is another process using it?): %w", cfg.Dir, err)
	}
	s.db = db
	ok := false
	defer func() {
		if !ok {
			s.closeParts()
		}
	}()

	var stored *storeManifest
	if b, closer, err := db.Get(metaManifest); err == nil {
		sm, derr := decodeStoreManifest(b)
		closer.Close()
		if derr != nil {
			return nil, nil, fmt.Errorf("%w: metadata in %s: %v", ErrCorrupt, cfg.Dir, derr)
		}
		stored = &sm
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return nil, nil, fmt.Errorf("storage: reading the store manifest: %w", err)
	}
	for i, p := range cfg.Volumes.Paths {
		s.vols = append(s.vols, volume{index: i, path: p, segDir: filepath.Join(p, segmentsDirName), fs: s.fs})
	}
	probe := func(i int, path string) error {
		err := s.volIO(i, func() error { return probeVolume(s.fs, i, path) })
		if errors.Is(err, errIOTimeout) {
			return &VolumeError{Index: i, Path: path, Reason: ErrVolumeUnwritable, Detail: "does not answer", Err: err}
		}
		return err
	}
	vs, err := checkVolumes(s.fs, &s.cfg, stored, o.now(), probe)
	if err != nil {
		return nil, nil, err
	}
	s.man = vs.manifest
	if err := s.loadHealMarks(); err != nil {
		return nil, nil, err
	}
	for _, h := range s.health[:len(s.vols)] {
		if h.mark != nil {
			h.state.Store(int32(volHealing))
			h.reason, h.since = "resuming an interrupted heal pass", o.now()
		}
	}
	for _, f := range vs.offline {
		h := s.health[f.Index]
		h.state.Store(int32(volOffline))
		h.reason, h.since = f.Error(), o.now()
		s.log.Error("opening without a volume; it counts as missing and is retried", "volume", f.Index, "path", f.Path, "err", f)
	}
	for _, i := range vs.replaced {
		h := s.health[i]
		h.state.Store(int32(volHealing))
		h.reason, h.since = "replacement volume, being rebuilt", o.now()
		h.mark = &LogPosition{}
		s.log.Warn("adopted an empty directory as a replacement volume; healing rebuilds its shards now",
			"volume", i, "path", cfg.Volumes.Paths[i])
	}
	if s.codec, err = newCodec(s.man.K, s.man.M); err != nil {
		return nil, nil, err
	}
	mb, _ := json.Marshal(s.man)
	if s.metaRO && len(vs.replaced) > 0 {
		return nil, nil, fmt.Errorf("%w: cannot adopt replacement volumes while the metadata disk is full", ErrReadOnly)
	}
	wb := db.NewBatch()
	wb.Set(metaManifest, mb, nil)
	for _, i := range vs.replaced {
		wb.Set(healKey(i), encodePos(LogPosition{}), nil)
	}
	if vs.created {
		wb.Set(metaCheckpoint, checkpoint{Segment: 0, Offset: 0, NextSeq: 1}.encode(), nil)
	}
	if s.metaRO {
		wb.Close()
	} else if err := wb.Commit(pebble.Sync); err != nil {
		return nil, nil, fmt.Errorf("storage: writing the store manifest: %w", err)
	}

	s.segs.vols = s.vols
	if err := s.segs.discover(s.usable); err != nil {
		return nil, nil, err
	}
	rep, err := s.recover(mode)
	if err != nil {
		return nil, rep, err
	}
	if mode == replayCheck && !s.metaRO {
		ok = true
		return s, rep, nil
	}

	s.queue = make(chan *request, cfg.Log.QueueDepth)
	s.commitDone = make(chan struct{})
	s.kick = make(chan struct{}, 1)
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	if o.registerer != nil {
		s.colls = s.collectors()
		for i, c := range s.colls {
			if err := o.registerer.Register(c); err != nil {
				for _, d := range s.colls[:i] {
					o.registerer.Unregister(d)
				}
				s.colls = nil
				s.bgCancel()
				return nil, rep, fmt.Errorf("storage: registering metrics: %w", err)
			}
		}
	}
	s.startWriters()
	go s.commitLoop()
	s.startHealth()
	s.startBackground()
	ok = true
	s.log.Info("storage opened", "dir", cfg.Dir, "volumes", len(s.vols), "data_shards", s.man.K, "parity_shards", s.man.M,
		"store", s.man.Store, "replayed", s.ctr.replayedRecords.Load(), "torn_tails", len(rep.TornTails),
		"missing_volumes", s.missing())
	return s, rep, nil
}

// closeParts closes the segment files and the metadata database of a store
// whose committer never started (or has stopped).
func (s *Store) closeParts() {
	s.segs.closeAll()
	s.db.Close()
}

// Close stops the background work, waits for writes in flight, writes a
// final checkpoint and closes everything. Iterators must be closed first.
func (s *Store) Close() error {
	s.bgCancel()
	s.bgWG.Wait()
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.queue)
	s.closeMu.Unlock()
	<-s.commitDone
	s.stopWriters()
	err := s.db.Close()
	s.segs.closeAll()
	if s.opts.registerer != nil {
		for _, c := range s.colls {
			s.opts.registerer.Unregister(c)
		}
	}
	if err != nil {
		return fmt.Errorf("storage: closing metadata database: %w", err)
	}
	return nil
}

// enter admits a public call; it fails once Close has begun.
func (s *Store) enter() bool {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return false
	}
	return true
}

func (s *Store) exit() { s.closeMu.RUnlock() }

func (s *Store) fail(err error) {
	e := fmt.Errorf("%w: %v; close and reopen the store to recover from the log", ErrFailed, err)
	s.failed.CompareAndSwap(nil, &e)
	s.log.Error("storage failed", "err", err)
}

func (s *Store) failure() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// withStoreCtx returns a context that is also cancelled when the store closes.
func (s *Store) withStoreCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.bgCtx, cancel)
	return ctx, func() { stop(); cancel() }
}

func (s *Store) checkKey(key []byte) error {
	if len(key) == 0 {
		return &KeyError{Reason: ErrEmptyKey}
	}
	if len(key) > s.cfg.Log.MaxKeySize {
		return &KeyError{Key: key, Size: len(key), Limit: s.cfg.Log.MaxKeySize, Reason: ErrKeyTooLarge}
	}
	return nil
}

func (s *Store) checkValue(key, value []byte) error {
	if int64(len(value)) > s.cfg.Log.MaxValueSize {
		return &KeyError{Key: key, Size: len(value), Limit: int(s.cfg.Log.MaxValueSize), Reason: ErrValueTooLarge}
	}
	return nil
}

// Put stores value under key, replacing any previous value. It returns once
// the value and everything needed to find it are fsync'd: after a crash the
// key reads back exactly value (or a later write). ctx bounds only the wait
// for room in the write queue; once queued, Put waits for the write. Put
// does not retain key or value after it returns; the caller must not modify
// them during the call. A *KeyError, ErrClosed or the context's error means
// nothing was written; any other error (an I/O failure) means the write may
// or may not have happened.
func (s *Store) Put(ctx context.Context, key, value []byte, opts ...PutOption) error {
	var b Batch
	b.Put(key, value, opts...)
	return s.Write(ctx, &b)
}

// Delete removes key. Deleting a missing key is not an error. Durability and
// ctx are as for Put.
func (s *Store) Delete(ctx context.Context, key []byte) error {
	var b Batch
	b.Delete(key)
	return s.Write(ctx, &b)
}

// Batch collects puts and deletes that Write applies atomically: after a
// crash either all of them are visible or none. A Batch keeps the key and
// value slices it is given (no copy) until Write returns. Its zero value is
// ready to use.
type Batch struct {
	ops []batchOp
}

type batchOp struct {
	del      bool
	key      []byte
	value    []byte
	epoch    uint64
	hasEpoch bool
}

// Put adds a put to the batch.
func (b *Batch) Put(key, value []byte, opts ...PutOption) {
	var po putOptions
	for _, o := range opts {
		o(&po)
	}
	b.ops = append(b.ops, batchOp{key: key, value: value, epoch: po.epoch, hasEpoch: po.hasEpoch})
}

// Delete adds a delete to the batch.
func (b *Batch) Delete(key []byte) { b.ops = append(b.ops, batchOp{del: true, key: key}) }

// Len returns the number of operations in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.ops = b.ops[:0] }

// Write applies the batch atomically and durably (see Put). Later operations
// on the same key win. An empty batch is a no-op.
func (s *Store) Write(ctx context.Context, b *Batch) error {
	if len(b.ops) == 0 {
		return nil
	}
	for _, op := range b.ops {
		if err := s.checkKey(op.key); err != nil {
			return err
		}
		if err := s.checkValue(op.key, op.value); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	if err := s.failure(); err != nil {
		return err
	}
	if p := s.readOnly.Load(); p != nil {
		return fmt.Errorf("%w: %s", ErrReadOnly, *p)
	}
	if s.missing() > s.codec.m {
		return s.quorumError()
	}
	now := s.opts.now().UnixNano()
	recs := make([]*encoded, len(b.ops))
	var puts, dels, bytes uint64
	for i, op := range b.ops {
		tr := trailer{Op: opPut, KeyLen: uint16(len(op.key)), ValueLen: uint32(len(op.value)), Time: now}
		if op.del {
			tr.Op, tr.ValueLen = opDelete, 0
			dels++
		} else {
			puts++
			bytes += uint64(len(op.value))
		}
		if op.hasEpoch && !op.del {
			tr.Flags |= flagHasEpoch
			tr.Epoch = op.epoch
		}
		if i == 0 {
			tr.Flags |= flagBatchStart
		}
		if i == len(b.ops)-1 {
			tr.Flags |= flagBatchEnd
		}
		val := op.value
		if op.del {
			val = nil
		}
		recs[i] = s.codec.encode(tr, op.key, val)
	}
	if err := s.submit(ctx, &request{recs: recs}); err != nil {
		return err
	}
	s.ctr.puts.Add(puts)
	s.ctr.deletes.Add(dels)
	s.ctr.bytesIn.Add(bytes)
	return nil
}

// submit hands a request to the committer and waits for it. ctx bounds the
// wait for queue space only.
func (s *Store) submit(ctx context.Context, req *request) error {
	req.done = make(chan error, 1)
	if req.ctl == nil && !req.checkpoint && len(s.queue) == 0 && s.commitMu.TryLock() {
		// A group another caller led and left in flight is the
		// committer's to finish first; until it has, queue.
		if s.handoff == nil {
			s.lead(req)
			return <-req.done
		}
		s.commitMu.Unlock()
	}
	select {
	case s.queue <- req:
	case <-ctx.Done():
		req.release()
		return ctx.Err()
	}
	return <-req.done
}

// Get returns the value stored under key, or an error wrapping ErrNotFound.
// The returned slice belongs to the caller. A read that meets missing or
// corrupt shards rebuilds them from parity, returns the correct bytes and
// rewrites the bad shards; if too many are bad it returns an
// *UnrecoverableError naming the key and volumes, never wrong bytes.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := s.checkKey(key); err != nil {
		return nil, err
	}
	if !s.enter() {
		return nil, ErrClosed
	}
	defer s.exit()
	v, err := s.get(ctx, key)
	if err == nil {
		s.ctr.gets.Add(1)
		s.ctr.bytesOut.Add(uint64(len(v)))
	}
	return v, err
}

// Has reports whether key has a value. It reads only the index.
func (s *Store) Has(ctx context.Context, key []byte) (bool, error) {
	if err := s.checkKey(key); err != nil {
		return false, err
	}
	if !s.enter() {
		return false, ErrClosed
	}
	defer s.exit()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	_, closer, err := s.db.Get(indexKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: index lookup: %w", err)
	}
	closer.Close()
	return true, nil
}

// lookup reads the index entry of key.
func (s *Store) lookup(key []byte) (entry, error) {
	b, closer, err := s.db.Get(indexKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return entry{}, fmt.Errorf("%w: %s", ErrNotFound, showKey(key))
	}
	if err != nil {
		return entry{}, fmt.Errorf("storage: index lookup of %s: %w", showKey(key), err)
	}
	defer closer.Close()
	e, err := decodeEntry(b)
	if err != nil {
		return e, &CorruptError{Key: key, Where: "index entry", Detail: err.Error()}
	}
	if int(e.KeyLen) != len(key) || (!e.inline() && len(e.CRCs) != s.codec.n()) {
		return e, &CorruptError{Key: key, Where: "index entry", Detail: "key length or shard count does not match"}
	}
	return e, nil
}

// SetEpoch tells the store the current chain epoch; retention rules with
// KeepEpochs use it. Until it is called they do nothing.
func (s *Store) SetEpoch(epoch uint64) {
	s.epoch.Store(epoch)
	s.epochSet.Store(true)
}

// Info describes a stored value without reading it.
type Info struct {
	Size     int       // value length in bytes
	Time     time.Time // when it was written
	Epoch    uint64    // its epoch tag, if HasEpoch
	HasEpoch bool
	Inline   bool // kept in the metadata database
}

func (e *entry) info() Info {
	return Info{Size: int(e.ValueLen), Time: time.Unix(0, e.Time), Epoch: e.Epoch, HasEpoch: e.HasEpoch, Inline: e.inline()}
}

// pebbleLogger routes Pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "source", "pebble")
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "source", "pebble")
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "source", "pebble")
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// pebbleExists reports whether dir holds a Pebble database (any file).
func pebbleExists(fsys fsys, dir string) bool {
	names, err := fsys.List(dir)
	return err == nil && len(names) > 0
}
