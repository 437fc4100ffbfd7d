//go:build !(linux && (amd64 || arm64))

package storage

import (
	"io/fs"
	"os"
)

// startWriteback does nothing where sync_file_range is not wired up; the
// fdatasync that follows writes the data back itself.
func startWriteback(f *os.File, off, n int64) error { return nil }

// deviceOf does not tell filesystems apart here: without startWriteback a
// sync barrier does not pay (see syncBarrier).
func deviceOf(info fs.FileInfo) (uint64, bool) { return 0, false }
