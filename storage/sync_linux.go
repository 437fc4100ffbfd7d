package storage

import (
	"os"
	"syscall"
)

// fdatasync flushes a segment file's data and the metadata needed to read it
// back (its size), skipping timestamps: cheaper than fsync for appends.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// preallocate reserves blocks without changing the file size
// (FALLOC_FL_KEEP_SIZE), so appends into them need no block allocation.
// Filesystems without fallocate are not an error.
func preallocate(f *os.File, off, n int64) error {
	const keepSize = 1
	for {
		err := syscall.Fallocate(int(f.Fd()), keepSize, off, n)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EOPNOTSUPP, syscall.ENOSYS:
			return nil
		}
		return err
	}
}
