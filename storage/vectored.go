package storage

import "io"

// maxIOV is the most buffers one writeVecAt call passes to the kernel
// (Linux's IOV_MAX for pwritev), and so the most a vecWriter queues.
const maxIOV = 1024

// writeEachAt writes bufs one after another at off with one WriteAt each:
// writeVecAt where there is no pwritev, and the vfs files' WriteVecAt.
func writeEachAt(w io.WriterAt, bufs [][]byte, off int64) error {
	for _, b := range bufs {
		if _, err := w.WriteAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
	}
	return nil
}

// advanceBufs drops the first n bytes of bufs.
func advanceBufs(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 && n > 0 {
		bufs = append([][]byte{bufs[0][n:]}, bufs[1:]...)
	}
	return bufs
}
