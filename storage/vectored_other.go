//go:build !linux

package storage

import "os"

// writeVecAt writes bufs one after another at off, one WriteAt each.
func writeVecAt(f *os.File, bufs [][]byte, off int64) error {
	return writeEachAt(f, bufs, off)
}
