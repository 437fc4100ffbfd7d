//go:build !linux

package storage

import "os"

// maxIOV bounds the buffers of one writeVecAt call, as on Linux.
const maxIOV = 1024

// writeVecAt writes bufs one after another at off, one WriteAt each.
func writeVecAt(f *os.File, bufs [][]byte, off int64) error {
	return writeEachAt(f, bufs, off)
}
