// Package storage is zgda's integrated storage layer: a
// durable key/value store for everything a node keeps — blobs at the
// disperser, rows and cell proofs at DA nodes, status and certificates.
//
// # Model
//
// Keys are 1 to Config.Log.MaxKeySize bytes; values 0 to MaxValueSize. The
// index lives in Pebble (one database under the node's home). Values live in
// an append-only segment log spread over one or more volumes (directories,
// one per disk):
//
//   - With one volume each record is stored plainly, with a CRC-32C.
//   - With n ≥ 2 volumes each record is erasure-coded with
//     klauspost/reedsolomon into k data and m parity shards (m defaults to
//     max(1, n/3)), one shard per volume, each with its own header and
//     CRC-32C. Any m volumes may be lost. A read that meets a missing or
//     corrupt shard rebuilds it from any k good ones, returns the correct
//     bytes and rewrites the bad shard; a background scrubber does the same
//     for data nobody reads. More than m bad shards is an
//     *UnrecoverableError naming the key and the volumes, never wrong bytes.
//
// Writes go through one committer goroutine that groups whatever is queued
// and pays one fsync round (all volumes in parallel) per group; the erasure
// coding runs on the callers' goroutines. A caller that finds the committer
// idle and nothing queued does the committer's work on its own goroutine
// (the volume I/O stays on the volume writers, under the I/O deadline), so
// a lone Put costs two goroutine hand-offs instead of four, and stages its
// index update while the volumes sync. Group commit is pipelined: each
// volume's writer writes group N+1 while group N's fdatasync runs, in log
// order, and groups are answered in order. Each volume starts the
// writeback of its group as soon as it has written it (sync_file_range),
// and the volumes on one filesystem start their fdatasyncs together, once
// all of them have (a wait bounded at 2 ms): on a shared disk the syncs
// then share one journal commit. A group that fails retires its segment
// and records (fsync'd) where it began, so that replay drops what was
// written behind it. Put, Delete and Write return only once the log
// records are fsync'd. The log is the index's write-ahead log:
// every record carries what is needed to rebuild its index entry, the Pebble
// batch is committed without fsync, and the index is fsync'd at checkpoints
// (Config.Log.CheckpointInterval / CheckpointBytes, or on every group with
// Config.Log.SyncIndex). Open replays the log from the last checkpoint; a
// record counts only once k of its shards check out, a batch only once its
// last record does, so a crash at any point loses nothing acknowledged and
// never exposes a half-written value or half a batch.
//
// Corruption fails closed. A bad record with nothing intact after it in its
// segment is a torn tail (the unacknowledged last write of a crash: a
// segment is written strictly in order and retired after a failed write)
// and is dropped. A bad record with an intact record after it is damage:
// Open fails with a *CorruptError naming the segment, offset and volumes,
// and replays nothing past it. Check lists every such record without
// changing anything; Repair drops them, with the records of the batches
// they break, and reports what it dropped (zgda storage check / repair).
//
// Small values (≤ Config.Log.InlineMax, 4 KiB by default) are also kept
// inside their index entry. They are still logged, so they are just as
// durable, but reading them costs one Pebble lookup instead of k file reads:
// striping a few hundred bytes over n files is all overhead. Their log
// records stay live (compaction moves them, from the index's copy) because
// an index rebuilt from the volumes finds them there; the scrubber and heal
// passes, which check shards against checksums kept in the index, skip
// them.
//
// The log alone also rebuilds the index (RebuildIndex, zgda storage
// rebuild-index): every put carries its version, every compaction move the
// version it carries, every delete the versions it removes, so the newest
// surviving state of each key wins. For that, a delete stays in the log (a
// tombstone in the index's 'd' range, carried forward by compaction) until
// the segments that may hold the puts it deleted are gone.
//
// Deleted, overwritten and pruned values leave dead bytes in sealed
// segments. Compaction copies the live records of a mostly-dead segment
// forward (conditional "move" records that lose to any concurrent write),
// checkpoints, and unlinks the old files; readers holding the segment keep
// reading it until they finish. Retention removes keys by epoch tag
// (WithEpoch and SetEpoch; DA rows kept for N epochs) or by age (disperser
// blobs), in small conditional batches that never block ingest.
//
// # Volume set
//
// Each volume directory holds a ZGDA-VOLUME manifest (store id, volume id,
// shard position); the metadata database holds the list. Open refuses a
// foreign, reordered or damaged volume with a *VolumeError that says what it
// found and what to do. Volumes are never created implicitly, so an
// unmounted disk is not mistaken for an empty one. A replaced (empty) disk
// is adopted only with Config.Volumes.AllowReplace, at most m at a time.
//
// # Degraded mode
//
// A volume that is missing or fails at Open (no directory, an empty one
// without AllowReplace, I/O errors, no answer), or fails an I/O later (an
// error, or no answer within Config.Volumes.IOTimeout: a hung disk), is
// offline: neither read nor written, probed every RetryInterval. Writes go
// on while at most m volumes are offline or healing — a write is
// acknowledged once k volumes hold it, the write quorum — and the log
// position from which a volume misses shards is recorded in the metadata
// database. Beyond m, writes fail with a *QuorumError (ErrTooFewVolumes)
// naming the volumes; nothing acknowledged is lost. A volume that answers
// again, or a replacement, is healing: it takes writes at once while a
// paced pass (HealBytesPerSecond) rebuilds the shards it missed, persisting
// its progress so that a restart resumes it; until the pass ends it counts
// as missing. Health reports each volume's state.
//
// Disk full: while a volume or the metadata directory has less than
// Config.Volumes.MinFreeBytes free the store is read-only (ErrReadOnly, the
// zgda_storage_read_only metric) and writes resume by themselves once space
// returns. A metadata disk already full at Open opens the store read-only
// (reads served) rather than failing at every start.
//
// # Filesystems
//
// Segments and manifests go through a small filesystem interface (fs.go)
// and Pebble through its vfs.FS; WithFS puts all of them on one vfs.FS. The
// power-loss tests run the store on vfs.NewCrashableMem and simulate a power
// loss with CrashClone, which keeps only synced file data and directory
// entries; they show that skipping a single sync the store relies on is
// caught.
//
// # Switches
//
// Config.Index sizes Pebble's block cache and bloom filters. Segment space
// is reserved ahead of the writes (fallocate, 64 MiB at a time).
// Config.Log.SyncIndex fsyncs the index on every group (two fsync rounds per
// write instead of one). Background scrubbing, compaction and retention run
// when their intervals are non-zero; Scrub, Compact, Prune and
// ApplyRetention run them on demand. Metrics are exported only through a
// registry passed with WithRegisterer.
//
// # Errors
//
// Every condition the package detects is an error wrapping a sentinel from
// errors.go (ErrNotFound, ErrClosed,
// ErrEmptyKey, ErrKeyTooLarge, ErrValueTooLarge, ErrInvalidConfig,
// ErrVolumeMissing, ErrVolumeUnwritable, ErrVolumeMismatch,
// ErrUnrecoverable, ErrCorrupt, ErrTooFewVolumes, ErrReadOnly, ErrFailed).
// Typed errors carry the evidence: *KeyError, *VolumeError,
// *UnrecoverableError, *CorruptError, *QuorumError. Context
// errors are returned as they are; operating-system and Pebble errors are
// wrapped with %w under a message naming the file or step.
//
// # On-disk format
//
// See format.go: segment files <volume>/segments/<id>.zseg, each record a
// 48-byte shard header followed by the shard; payload = value ‖ key ‖
// 40-byte trailer, split as reedsolomon.Split would split it.
package storage
