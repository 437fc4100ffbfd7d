//go:build linux && (amd64 || arm64)

package storage

import (
	"io/fs"
	"os"
	"syscall"
)

// startWriteback queues [off, off+n) of f for writeback and returns without
// waiting (sync_file_range with SYNC_FILE_RANGE_WRITE only). It makes
// nothing durable; fdatasync still does that. Errors other than EINTR are
// returned, but callers treat it as a hint.
func startWriteback(f *os.File, off, n int64) error {
	const write = 0x2 // SYNC_FILE_RANGE_WRITE
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), uintptr(off), uintptr(n), write, 0, 0)
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return e
	}
}

// deviceOf returns the device of the filesystem info's file is on.
func deviceOf(info fs.FileInfo) (uint64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true
}
