package storage

import (
	"fmt"
	"path/filepath"
	"time"
)

// Config configures a Store. Build one with DefaultConfig (or TestConfig in
// tests), change what you need, and let Open validate it.
type Config struct {
	// Dir holds the metadata database (Pebble). It is created if missing. It
	// must not be one of the volumes.
	Dir        string
	Volumes    VolumesConfig
	Index      IndexConfig
	Log        LogConfig
	Scrub      ScrubConfig
	Compaction CompactionConfig
	Retention  RetentionConfig
}

// VolumesConfig names the directories that hold the segment log.
type VolumesConfig struct {
	// Paths lists the volume directories, one per disk. They must exist (a
	// missing mount point is an error, never silently created) and keep their
	// order across restarts. With one path values are stored plainly with
	// checksums; with n ≥ 2 each record is erasure-coded into n shards.
	Paths []string
	// Parity is m, the number of volumes that may be lost. 0 picks the
	// default max(1, n/3) for n ≥ 2 (and 0 for a single volume). It is fixed
	// when the store is created.
	Parity int
	// AllowReplace lets Open adopt up to Parity empty directories as
	// replacements for lost volumes; healing rebuilds their shards at once.
	// Without it an empty directory where a volume was counts as an offline
	// volume (it usually means a disk failed to mount); nothing is written
	// there.
	AllowReplace bool
	// IOTimeout is the deadline of each volume's reads, writes and syncs;
	// a volume that misses it (a hung disk) is marked offline and the
	// operation goes on without it. 0 disables deadlines.
	IOTimeout time.Duration
	// RetryInterval is how often offline volumes are probed (and free
	// space checked); a volume that answers again is healed.
	RetryInterval time.Duration
	// MinFreeBytes is the free-space watermark: while a volume or the
	// metadata directory has less free, the store is read-only (writes fail
	// with ErrReadOnly) and it resumes by itself once space returns.
	MinFreeBytes int64
	// HealBytesPerSecond paces the healing of a returning or replaced
	// volume; 0 means unlimited.
	HealBytesPerSecond int64
}

// IndexConfig tunes the metadata database (Pebble).
type IndexConfig struct {
	// CacheBytes is Pebble's block cache.
	CacheBytes int64
	// BloomBitsPerKey sizes the bloom filters of Pebble's tables (10 bits:
	// about 1% false positives), so a lookup of a missing key or in a
	// table that lacks it skips the table's blocks; 0 turns them off.
	BloomBitsPerKey int
}

// DefaultIndexConfig: a 64 MiB block cache and 10-bit bloom filters.
func DefaultIndexConfig() IndexConfig { return IndexConfig{CacheBytes: 64 << 20, BloomBitsPerKey: 10} }

// Validate checks the index section.
func (c *IndexConfig) Validate() error {
	if c.CacheBytes < 0 || c.BloomBitsPerKey < 0 || c.BloomBitsPerKey > 32 {
		return fmt.Errorf("cache_bytes must not be negative and bloom_bits_per_key must be in [0, 32]")
	}
	return nil
}

// LogConfig shapes the segment log and the write path.
type LogConfig struct {
	// SegmentSize is the size (per volume) at which the active segment is
	// sealed and a new one started. A single large record may exceed it.
	SegmentSize int64
	// InlineMax: values of at most this many bytes are also kept inside the
	// metadata database, so reading them touches no volume (compaction
	// copies their log records from there). See the comment on inlining in
	// doc.go.
	InlineMax int
	// MaxKeySize and MaxValueSize bound what Put accepts.
	MaxKeySize   int
	MaxValueSize int64
	// SyncIndex makes every group commit also fsync the metadata database
	// before acknowledging. Without it the fsync'd segment log is the
	// write-ahead log of the index and the index is fsync'd at checkpoints;
	// both modes lose nothing acknowledged.
	SyncIndex bool
	// CheckpointInterval and CheckpointBytes bound how much log Open may have
	// to replay: the index is fsync'd and the replay start advanced after this
	// much time or this many logged bytes, whichever comes first.
	CheckpointInterval time.Duration
	CheckpointBytes    int64
	// MaxGroupBytes bounds the bytes one group commit writes per volume.
	MaxGroupBytes int64
	// QueueDepth bounds the writes waiting for the committer; Put blocks (up
	// to its context) when it is full.
	QueueDepth int
}

// ScrubConfig drives the background scrubber, which reads every live shard,
// checks its checksum and rebuilds bad or missing ones.
type ScrubConfig struct {
	// Interval between the starts of full passes; 0 disables the background
	// scrubber (Store.Scrub still works).
	Interval time.Duration
	// BytesPerSecond limits the scrubber's reads; 0 means unlimited.
	BytesPerSecond int64
}

// CompactionConfig drives segment compaction, which copies the live records
// of mostly-dead sealed segments forward and deletes the old files.
type CompactionConfig struct {
	// Interval between compaction rounds; 0 disables background compaction
	// (Store.Compact still works).
	Interval time.Duration
	// MinGarbageRatio: a sealed segment is compacted once at least this
	// fraction of its bytes is dead. Segments with nothing live are deleted
	// regardless.
	MinGarbageRatio float64
	// BytesPerSecond limits the bytes compaction copies; 0 means unlimited.
	BytesPerSecond int64
}

// RetentionConfig drives the background pruner.
type RetentionConfig struct {
	// Interval between pruning rounds; 0 disables background pruning
	// (Store.Prune still works).
	Interval time.Duration
	// Rules are applied every round, in order.
	Rules []RetentionRule
}

// RetentionRule prunes keys under Prefix. A key is pruned when it carries an
// epoch tag (WithEpoch) and is older than KeepEpochs epochs — that is, its
// epoch e satisfies e + KeepEpochs ≤ the current epoch given to SetEpoch — or
// when it was written more than MaxAge ago. A zero KeepEpochs or MaxAge turns
// that criterion off.
//
// DA nodes keep rows for N epochs: {Prefix: "row/", KeepEpochs: N}.
// The disperser keeps blobs for a while: {Prefix: "blob/", MaxAge: 72 * time.Hour}.
type RetentionRule struct {
	Prefix     []byte
	KeepEpochs uint64
	MaxAge     time.Duration
}

// DefaultConfig returns a configuration for a node whose home directory is
// home: metadata under home/storage/meta and one volume at
// home/storage/vol0 (the caller must create volume directories; Open
// refuses missing ones).
func DefaultConfig(home string) Config {
	return Config{
		Dir:        filepath.Join(home, "storage", "meta"),
		Volumes:    DefaultVolumesConfig([]string{filepath.Join(home, "storage", "vol0")}),
		Index:      DefaultIndexConfig(),
		Log:        DefaultLogConfig(),
		Scrub:      DefaultScrubConfig(),
		Compaction: DefaultCompactionConfig(),
		Retention:  RetentionConfig{Interval: time.Minute},
	}
}

// TestConfig returns a configuration for tests: metadata in dir/meta, the
// given volume directories, small segments and all background work off, so
// tests drive scrubbing, compaction and pruning explicitly.
func TestConfig(dir string, volumes []string) Config {
	c := DefaultConfig(dir)
	c.Dir = filepath.Join(dir, "meta")
	c.Volumes.Paths = volumes
	c.Volumes.RetryInterval = 20 * time.Millisecond
	c.Volumes.MinFreeBytes = 0
	c.Log = TestLogConfig()
	c.Scrub.Interval = 0
	c.Compaction.Interval = 0
	c.Retention.Interval = 0
	return c
}

// DefaultVolumesConfig: the given paths, default parity, 10 s I/O
// deadlines, offline volumes retried every 5 s, read-only below 256 MiB free,
// healing at up to 128 MiB/s.
func DefaultVolumesConfig(paths []string) VolumesConfig {
	return VolumesConfig{Paths: paths, IOTimeout: 10 * time.Second, RetryInterval: 5 * time.Second,
		MinFreeBytes: 256 << 20, HealBytesPerSecond: 128 << 20}
}

// DefaultLogConfig: 512 MiB segments, 4 KiB inline values, 1 KiB keys,
// 64 MiB values (twice the codec's MaxBlobSize), checkpoint every second or
// 64 MiB.
func DefaultLogConfig() LogConfig {
	return LogConfig{
		SegmentSize:        512 << 20,
		InlineMax:          4 << 10,
		MaxKeySize:         1 << 10,
		MaxValueSize:       64 << 20,
		CheckpointInterval: time.Second,
		CheckpointBytes:    64 << 20,
		MaxGroupBytes:      64 << 20,
		QueueDepth:         256,
	}
}

// TestLogConfig: as DefaultLogConfig with 1 MiB segments, so tests roll and
// compact segments quickly.
func TestLogConfig() LogConfig {
	c := DefaultLogConfig()
	c.SegmentSize = 1 << 20
	c.CheckpointBytes = 4 << 20
	return c
}

// DefaultScrubConfig: a full pass a day at up to 64 MiB/s.
func DefaultScrubConfig() ScrubConfig {
	return ScrubConfig{Interval: 24 * time.Hour, BytesPerSecond: 64 << 20}
}

// DefaultCompactionConfig: every minute, segments at least half dead, up to
// 128 MiB/s.
func DefaultCompactionConfig() CompactionConfig {
	return CompactionConfig{Interval: time.Minute, MinGarbageRatio: 0.5, BytesPerSecond: 128 << 20}
}

// Hard limits of the on-disk format.
const (
	maxKeySizeLimit   = 1<<16 - 1 // key length is a uint16 in the record trailer
	maxValueSizeLimit = 1 << 30   // keeps payload and shard lengths inside uint32
	maxVolumes        = 255       // shard index is a byte; GF(2^8) allows 256 shards
)

// Validate checks the whole configuration; the message names the section.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return fmt.Errorf("%w: storage.dir: empty; set the metadata directory", ErrInvalidConfig)
	}
	for _, s := range []struct {
		name string
		err  error
	}{
		{"storage.volumes", c.Volumes.Validate()},
		{"storage.index", c.Index.Validate()},
		{"storage.log", c.Log.Validate()},
		{"storage.scrub", c.Scrub.Validate()},
		{"storage.compaction", c.Compaction.Validate()},
		{"storage.retention", c.Retention.Validate()},
	} {
		if s.err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidConfig, s.name, s.err)
		}
	}
	meta := filepath.Clean(c.Dir)
	for i, p := range c.Volumes.Paths {
		if filepath.Clean(p) == meta {
			return fmt.Errorf("%w: storage.volumes: path %d (%s) is the metadata directory; give volumes their own directories", ErrInvalidConfig, i, p)
		}
	}
	return nil
}

// Validate checks the volumes section.
func (c *VolumesConfig) Validate() error {
	n := len(c.Paths)
	if n == 0 {
		return fmt.Errorf("no volume paths; list at least one directory")
	}
	if n > maxVolumes {
		return fmt.Errorf("%d volumes, at most %d are supported", n, maxVolumes)
	}
	seen := map[string]int{}
	for i, p := range c.Paths {
		if p == "" {
			return fmt.Errorf("path %d is empty", i)
		}
		cp := filepath.Clean(p)
		if j, ok := seen[cp]; ok {
			return fmt.Errorf("paths %d and %d are the same directory (%s); each volume needs its own", j, i, p)
		}
		seen[cp] = i
	}
	if c.Parity < 0 {
		return fmt.Errorf("parity %d is negative; use 0 for the default", c.Parity)
	}
	if n == 1 && c.Parity > 0 {
		return fmt.Errorf("parity %d needs at least %d volumes; a single volume stores plainly", c.Parity, c.Parity+1)
	}
	if n > 1 && c.Parity >= n {
		return fmt.Errorf("parity %d leaves no data shards with %d volumes; use at most %d", c.Parity, n, n-1)
	}
	if c.IOTimeout < 0 || c.MinFreeBytes < 0 || c.HealBytesPerSecond < 0 {
		return fmt.Errorf("io_timeout, min_free_bytes and heal_bytes_per_second must not be negative")
	}
	if c.RetryInterval <= 0 {
		return fmt.Errorf("retry_interval %v must be positive", c.RetryInterval)
	}
	return nil
}

// shards returns (k, m) for this volume set.
func (c *VolumesConfig) shards() (k, m int) {
	n := len(c.Paths)
	if n == 1 {
		return 1, 0
	}
	m = c.Parity
	if m == 0 {
		m = max(1, n/3)
	}
	return n - m, m
}

// Validate checks the log section.
func (c *LogConfig) Validate() error {
	switch {
	case c.SegmentSize < 64<<10:
		return fmt.Errorf("segment_size %d is below 64 KiB", c.SegmentSize)
	case c.InlineMax < 0:
		return fmt.Errorf("inline_max %d is negative", c.InlineMax)
	case c.InlineMax > 1<<20:
		return fmt.Errorf("inline_max %d is over 1 MiB; large values belong in the volumes", c.InlineMax)
	case c.MaxKeySize < 1 || c.MaxKeySize > maxKeySizeLimit:
		return fmt.Errorf("max_key_size %d is outside [1, %d]", c.MaxKeySize, maxKeySizeLimit)
	case c.MaxValueSize < 1 || c.MaxValueSize > maxValueSizeLimit:
		return fmt.Errorf("max_value_size %d is outside [1, %d]", c.MaxValueSize, maxValueSizeLimit)
	case c.CheckpointInterval <= 0:
		return fmt.Errorf("checkpoint_interval %v must be positive", c.CheckpointInterval)
	case c.CheckpointBytes <= 0:
		return fmt.Errorf("checkpoint_bytes %d must be positive", c.CheckpointBytes)
	case c.MaxGroupBytes < 64<<10:
		return fmt.Errorf("max_group_bytes %d is below 64 KiB", c.MaxGroupBytes)
	case c.QueueDepth < 1:
		return fmt.Errorf("queue_depth %d must be at least 1", c.QueueDepth)
	}
	return nil
}

// Validate checks the scrub section.
func (c *ScrubConfig) Validate() error {
	if c.Interval < 0 || c.BytesPerSecond < 0 {
		return fmt.Errorf("interval and bytes_per_second must not be negative")
	}
	return nil
}

// Validate checks the compaction section.
func (c *CompactionConfig) Validate() error {
	if c.Interval < 0 || c.BytesPerSecond < 0 {
		return fmt.Errorf("interval and bytes_per_second must not be negative")
	}
	if c.MinGarbageRatio <= 0 || c.MinGarbageRatio > 1 {
		return fmt.Errorf("min_garbage_ratio %v is outside (0, 1]", c.MinGarbageRatio)
	}
	return nil
}

// Validate checks the retention section.
func (c *RetentionConfig) Validate() error {
	if c.Interval < 0 {
		return fmt.Errorf("interval must not be negative")
	}
	for i, r := range c.Rules {
		if r.KeepEpochs == 0 && r.MaxAge <= 0 {
			return fmt.Errorf("rule %d (prefix %q) sets neither keep_epochs nor a positive max_age", i, r.Prefix)
		}
	}
	return nil
}
