package storage

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error the package returns wraps one of these (test
// with errors.Is); the typed errors below carry the evidence.
var (
	// ErrNotFound: the key has no value (never written, deleted or pruned).
	ErrNotFound = errors.New("storage: key not found")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("storage: store is closed")
	// ErrEmptyKey: a key of length zero.
	ErrEmptyKey = errors.New("storage: empty key")
	// ErrKeyTooLarge: a key longer than Config.Log.MaxKeySize.
	ErrKeyTooLarge = errors.New("storage: key too large")
	// ErrValueTooLarge: a value longer than Config.Log.MaxValueSize.
	ErrValueTooLarge = errors.New("storage: value too large")
	// ErrInvalidConfig: Config.Validate rejected the configuration.
	ErrInvalidConfig = errors.New("storage: invalid config")
	// ErrVolumeMissing: a configured volume directory does not exist or is not
	// a directory.
	ErrVolumeMissing = errors.New("storage: volume directory missing")
	// ErrVolumeUnwritable: a volume directory exists but a file cannot be
	// created and synced in it.
	ErrVolumeUnwritable = errors.New("storage: volume directory not writable")
	// ErrVolumeMismatch: the configured volumes are not the ones the store was
	// created with (count, order, identity), or a volume was wiped.
	ErrVolumeMismatch = errors.New("storage: volume set does not match the store")
	// ErrUnrecoverable: more shards of a record are missing or corrupt than
	// the parity can rebuild. No bytes are returned.
	ErrUnrecoverable = errors.New("storage: data unrecoverable")
	// ErrCorrupt: on-disk or index bytes failed a consistency check that
	// reconstruction cannot fix (for example an index entry naming another key).
	ErrCorrupt = errors.New("storage: corrupt data")
	// ErrTooFewVolumes: a write was refused because more than m volumes are
	// offline or healing (see *QuorumError); nothing acknowledged is lost.
	ErrTooFewVolumes = errors.New("storage: too few volumes to write")
	// ErrReadOnly: a disk is below the free-space watermark
	// (Config.Volumes.MinFreeBytes) or the metadata disk was full at Open;
	// reads go on, writes resume once space returns.
	ErrReadOnly = errors.New("storage: store is read-only")
	// ErrFailed: an earlier write failed in a way that leaves the index
	// uncertain (the metadata database refused a commit); the Store refuses
	// further writes. Close and reopen it: recovery replays the log.
	ErrFailed = errors.New("storage: store failed")
)

// KeyError reports a key (or its value) that the Store refuses.
type KeyError struct {
	Key    []byte // the offending key (may be truncated to 64 bytes)
	Size   int    // the size that was refused (key or value length)
	Limit  int    // the configured limit, 0 when not a size problem
	Reason error  // ErrEmptyKey, ErrKeyTooLarge or ErrValueTooLarge
}

func (e *KeyError) Error() string {
	switch {
	case errors.Is(e.Reason, ErrEmptyKey):
		return "storage: empty key; keys must be 1 or more bytes"
	case errors.Is(e.Reason, ErrKeyTooLarge):
		return fmt.Sprintf("storage: key %s is %d bytes, over the limit of %d (Config.Log.MaxKeySize)", showKey(e.Key), e.Size, e.Limit)
	case errors.Is(e.Reason, ErrValueTooLarge):
		return fmt.Sprintf("storage: value for key %s is %d bytes, over the limit of %d (Config.Log.MaxValueSize)", showKey(e.Key), e.Size, e.Limit)
	}
	return fmt.Sprintf("storage: key %s: %v", showKey(e.Key), e.Reason)
}

func (e *KeyError) Unwrap() error { return e.Reason }

// VolumeError reports a problem with one configured volume found at Open.
type VolumeError struct {
	Index  int    // position in Config.Volumes.Paths; -1 when about the whole set
	Path   string // the configured path
	Reason error  // ErrVolumeMissing, ErrVolumeUnwritable or ErrVolumeMismatch
	Detail string // what was found and what to do
	Err    error  // the underlying OS error, if any
}

func (e *VolumeError) Error() string {
	s := fmt.Sprintf("storage: volume %d (%s): %s", e.Index, e.Path, e.Detail)
	if e.Index < 0 {
		s = fmt.Sprintf("storage: volume set (store metadata in %s): %s", e.Path, e.Detail)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *VolumeError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Reason, e.Err}
	}
	return []error{e.Reason}
}

// ShardFault describes one shard that could not be used.
type ShardFault struct {
	Volume int    // volume index
	Path   string // volume directory
	Reason string // "missing", "checksum mismatch", "bad header", "read error: ..."
}

// UnrecoverableError reports a record with more bad shards than the parity
// tolerates. It wraps ErrUnrecoverable.
type UnrecoverableError struct {
	Key     []byte
	Segment uint64
	Offset  int64
	Faults  []ShardFault // the shards that were bad
	Parity  int          // how many faults the store tolerates (m)
	Shards  int          // total shards per record (n)
}

func (e *UnrecoverableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "storage: key %s (segment %d at offset %d): %d of %d shards unusable, at most %d can be rebuilt; bad volumes:",
		showKey(e.Key), e.Segment, e.Offset, len(e.Faults), e.Shards, e.Parity)
	for i, f := range e.Faults {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %d (%s: %s)", f.Volume, f.Path, f.Reason)
	}
	b.WriteString("; restore those volumes from backup or re-fetch the data from its source")
	return b.String()
}

func (e *UnrecoverableError) Unwrap() error { return ErrUnrecoverable }

// MissingVolumes returns the indexes of the volumes whose shards were bad.
func (e *UnrecoverableError) MissingVolumes() []int {
	out := make([]int, len(e.Faults))
	for i, f := range e.Faults {
		out[i] = f.Volume
	}
	return out
}

// CorruptError reports bytes that failed a check reconstruction cannot fix.
// For a damaged log record (found by Open, Check or Repair) Key is empty and
// Segment, Offset, Next and Faults say where it is and which volumes' shards
// were unusable.
type CorruptError struct {
	Key    []byte
	Where  string // "index entry", "record trailer", "log record in segment 7 at offset 4096", ...
	Detail string

	Segment uint64       // the damaged record's segment (log records only)
	Offset  int64        // its offset in the segment
	Next    int64        // offset of the next intact record in the segment
	Faults  []ShardFault // its unusable shards: volume, path and why
}

func (e *CorruptError) Error() string {
	if len(e.Key) == 0 {
		return fmt.Sprintf("storage: corrupt %s: %s", e.Where, e.Detail)
	}
	return fmt.Sprintf("storage: key %s: corrupt %s: %s", showKey(e.Key), e.Where, e.Detail)
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// showKey renders a key for an error message: printable keys quoted, others
// in hex, long ones truncated.
func showKey(k []byte) string {
	const max = 64
	trunc := ""
	if len(k) > max {
		k, trunc = k[:max], "…"
	}
	printable := len(k) > 0
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			printable = false
			break
		}
	}
	if printable {
		return fmt.Sprintf("%q%s", k, trunc)
	}
	return fmt.Sprintf("0x%x%s", k, trunc)
}
