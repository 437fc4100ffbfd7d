//go:build !linux

package storage

import "os"

// fdatasync falls back to fsync where fdatasync is not available; on darwin
// os.File.Sync issues F_FULLFSYNC, which is what durability needs there.
func fdatasync(f *os.File) error { return f.Sync() }

// preallocate does nothing where fallocate is not available.
func preallocate(f *os.File, off, n int64) error { return nil }
