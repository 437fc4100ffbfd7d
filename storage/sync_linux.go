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
