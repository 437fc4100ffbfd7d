//go:build linux

package storage

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// writeVecAt writes bufs one after another at off with pwritev, so large
// values go to the kernel from the caller's memory without a staging copy.
// A short write (the disk filling mid-call) is continued; its error, if
// any, is the next call's.
func writeVecAt(f *os.File, bufs [][]byte, off int64) error {
	fd := int(f.Fd())
	for len(bufs) > 0 {
		chunk := bufs[:min(len(bufs), maxIOV)]
		n, err := unix.Pwritev(fd, chunk, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "pwritev", Path: f.Name(), Err: err}
		}
		if n == 0 {
			return &os.PathError{Op: "pwritev", Path: f.Name(), Err: io.ErrShortWrite}
		}
		off += int64(n)
		bufs = advanceBufs(bufs, n)
	}
	return nil
}
