package storage

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Segments and manifests go through fsys, a small filesystem interface, so
// that tests can run the store on a strict in-memory filesystem that loses
// everything not synced at a simulated power loss (pebble's
// vfs.NewCrashableMem with CrashClone; Pebble's own files use the same
// vfs.FS), and on one that injects I/O faults per volume. osFS is the
// operating system's; vfsFS adapts any pebble vfs.FS.

type fsys interface {
	// OpenFile opens name read-write; with create a missing file is
	// created empty (the caller syncs the directory), without it a missing
	// file is an error wrapping fs.ErrNotExist.
	OpenFile(name string, create bool) (file, error)
	ReadFile(name string) ([]byte, error)
	Remove(name string) error // a missing file is not an error
	Rename(oldname, newname string) error
	MkdirAll(dir string) error
	List(dir string) ([]string, error)
	Stat(name string) (fs.FileInfo, error)
	SyncDir(dir string) error
	// Avail returns the bytes free for this process on dir's filesystem.
	Avail(dir string) (uint64, error)
}

type file interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// WriteVecAt writes bufs one after another at off (pwritev).
	WriteVecAt(bufs [][]byte, off int64) error
	SyncData() error // data and the size needed to read it back (fdatasync)
	Sync() error
	Size() (int64, error)
	// Preallocate reserves [off, off+n) without changing the size, so that
	// appends there need no metadata sync; it may do nothing.
	Preallocate(off, n int64) error
	// WriteBack starts writing [off, off+n) to the disk without waiting
	// for it (sync_file_range SYNC_FILE_RANGE_WRITE). A hint that makes
	// nothing durable; it may do nothing.
	WriteBack(off, n int64) error
}

// --- the operating system -----------------------------------------------------

type osFS struct{}

var _ fsys = osFS{}

type osFile struct{ *os.File }

func (f osFile) SyncData() error { return fdatasync(f.File) }
func (f osFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
func (f osFile) Preallocate(off, n int64) error { return preallocate(f.File, off, n) }
func (f osFile) WriteBack(off, n int64) error   { return startWriteback(f.File, off, n) }
func (f osFile) WriteVecAt(bufs [][]byte, off int64) error {
	return writeVecAt(f.File, bufs, off)
}

func (osFS) OpenFile(name string, create bool) (file, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(name, flag, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (osFS) Remove(name string) error {
	err := os.Remove(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (osFS) Rename(o, n string) error              { return os.Rename(o, n) }
func (osFS) MkdirAll(dir string) error             { return os.MkdirAll(dir, 0o755) }
func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

func (osFS) List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (osFS) Avail(dir string) (uint64, error) {
	u, err := vfs.Default.GetDiskUsage(dir)
	return u.AvailBytes, err
}

// --- any pebble vfs.FS ------------------------------------------------------

type vfsFS struct{ fs vfs.FS }

var _ fsys = vfsFS{}

type vfsFile struct{ vfs.File }

func (f vfsFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// WriteBack does nothing: a vfs.FS has no writeback to start (and on the
// crash-test filesystem a hint that kept data would hide a missing sync).
func (f vfsFile) WriteBack(off, n int64) error { return nil }

func (f vfsFile) WriteVecAt(bufs [][]byte, off int64) error { return writeEachAt(f, bufs, off) }

func (v vfsFS) OpenFile(name string, create bool) (file, error) {
	if !create {
		if _, err := v.fs.Stat(name); err != nil {
			return nil, err
		}
	}
	f, err := v.fs.OpenReadWrite(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, err
	}
	return vfsFile{f}, nil
}

func (v vfsFS) ReadFile(name string) ([]byte, error) {
	f, err := v.fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (v vfsFS) Remove(name string) error {
	err := v.fs.Remove(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (v vfsFS) Rename(o, n string) error              { return v.fs.Rename(o, n) }
func (v vfsFS) MkdirAll(dir string) error             { return v.fs.MkdirAll(dir, 0o755) }
func (v vfsFS) Stat(name string) (fs.FileInfo, error) { return v.fs.Stat(name) }
func (v vfsFS) List(dir string) ([]string, error)     { return v.fs.List(dir) }

func (v vfsFS) SyncDir(dir string) error {
	d, err := v.fs.OpenDir(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (v vfsFS) Avail(dir string) (uint64, error) {
	u, err := v.fs.GetDiskUsage(dir)
	if err != nil {
		return 0, err
	}
	return u.AvailBytes, nil
}

// writeFileSync writes a file atomically: temp file, fsync, rename, fsync dir.
func writeFileSync(fsys fsys, path string, data []byte) error {
	tmp := path + ".tmp"
	if err := fsys.Remove(tmp); err != nil {
		return err
	}
	f, err := fsys.OpenFile(tmp, true)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return err
	}
	return fsys.SyncDir(dirOf(path))
}

func dirOf(path string) string {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '/' || path[i] == os.PathSeparator {
			return path[:i]
		}
	}
	return "."
}
