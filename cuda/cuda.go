package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include "zgda_cuda.h"

// The library is opened with dlopen, so its functions are called through
// pointers; cgo cannot call a C function pointer directly (backend.go has
// the context calls).
typedef int (*zgda_version_fn)(void);
typedef int (*zgda_init_fn)(int, char*, size_t);

static int zgda_call_version(void* f) { return ((zgda_version_fn)f)(); }
static int zgda_call_init(void* f, int dev, char* msg, size_t n) { return ((zgda_init_fn)f)(dev, msg, n); }
*/
import "C"

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// LibName is the library's file name.
const LibName = "libzgda_cuda.so"

// ABIVersion is the zgda_cuda.h ABI this package speaks.
const ABIVersion = C.ZGDA_CUDA_ABI

// Lib is a loaded libzgda_cuda.so. It stays loaded for the life of the
// process (CUDA runtimes do not survive dlclose well).
type Lib struct {
	path                                   string
	handle                                 unsafe.Pointer // from dlopen
	version, init, open, close, cols, rows unsafe.Pointer
}

// Path is the file the library was loaded from.
func (l *Lib) Path() string { return l.path }

var (
	loadOnce sync.Once
	loaded   *Lib
	loadErr  error
)

// Load finds and loads the library from SearchPaths, once per process. The
// error wraps ErrNotFound (with the places searched and what to do) or
// ErrLoad.
func Load() (*Lib, error) {
	loadOnce.Do(func() { loaded, loadErr = loadFirst(SearchPaths()) })
	return loaded, loadErr
}

// LoadPath loads the library at path (tests, tools); Load is the normal way.
func LoadPath(path string) (*Lib, error) { return loadFirst([]string{path}) }

// SearchPaths lists, in order, where Load looks: $ZGDA_CUDA_LIB, then
// libzgda_cuda.so next to the executable (where `make cuda` puts it, beside
// bin/zgda). Nothing relative to the working directory: with --device auto
// the default, zgda must not dlopen whatever library a directory happens
// to hold.
func SearchPaths() []string {
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		for _, q := range out {
			if q == p {
				return
			}
		}
		out = append(out, p)
	}
	add(os.Getenv("ZGDA_CUDA_LIB"))
	if exe, err := os.Executable(); err == nil {
		add(filepath.Join(filepath.Dir(exe), LibName))
	}
	return out
}

func loadFirst(paths []string) (*Lib, error) {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		return open(p)
	}
	return nil, fmt.Errorf("%w (searched: %s); build it with `make cuda` on a machine with nvcc, or set ZGDA_CUDA_LIB",
		ErrNotFound, strings.Join(paths, ", "))
}

func open(path string) (*Lib, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	// RTLD_LOCAL: the CUDA runtime inside stays private to this library.
	h := C.dlopen(cpath, C.RTLD_NOW|C.RTLD_LOCAL)
	if h == nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrLoad, path, C.GoString(C.dlerror()))
	}
	l := &Lib{path: path, handle: h}
	if err := l.lookup(
		entry{"zgda_cuda_version", &l.version},
		entry{"zgda_cuda_init", &l.init},
		entry{"zgda_cuda_open", &l.open},
		entry{"zgda_cuda_close", &l.close},
		entry{"zgda_cuda_extend_columns", &l.cols},
		entry{"zgda_cuda_extend_rows", &l.rows},
	); err != nil {
		return nil, err
	}
	if v := int(C.zgda_call_version(l.version)); v != ABIVersion {
		return nil, fmt.Errorf("%w: %s speaks ABI %d, this binary %d: rebuild it with `make cuda`", ErrLoad, path, v, ABIVersion)
	}
	return l, nil
}

// entry names an exported function of the library and where its address
// goes.
type entry struct {
	name string
	dst  *unsafe.Pointer
}

// lookup sets the address of every entry (symbol): how LoadPath and each
// kernel's Go side (batch backend, msm, rs) load their entry points.
func (l *Lib) lookup(entries ...entry) error {
	for _, e := range entries {
		p, err := l.symbol(e.name)
		if err != nil {
			return err
		}
		*e.dst = p
	}
	return nil
}

// symbol looks up an exported function of the library. A missing one is
// ErrLoad: not a zgda CUDA library, or one built from older sources.
func (l *Lib) symbol(name string) (unsafe.Pointer, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	p := C.dlsym(l.handle, cname)
	if p == nil {
		return nil, fmt.Errorf("%w: %s has no symbol %s (not a zgda CUDA library, or built from older sources: rebuild with `make cuda`)", ErrLoad, l.path, name)
	}
	return p, nil
}

// Version returns the library's ABI version.
func (l *Lib) Version() int { return int(C.zgda_call_version(l.version)) }

// msgLen bounds the library's error and info messages.
const msgLen = 512

// Init checks that device exists and can run the library, and returns its
// description (name, compute capability, memory).
func (l *Lib) Init(device int) (string, error) {
	var buf [msgLen]byte
	rc := C.zgda_call_init(l.init, C.int(device), (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	msg := cString(buf[:])
	if rc != C.ZGDA_OK {
		return "", codeErr(rc, msg)
	}
	return msg, nil
}

// Available reports whether the library loads and device 0 is usable, with
// its description or the reason why not.
func Available() (string, error) {
	lib, err := Load()
	if err != nil {
		return "", err
	}
	return lib.Init(0)
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// codeErr maps a ZGDA_* code and its message to a sentinel-wrapped error.
func codeErr(rc C.int, msg string) error {
	switch rc {
	case C.ZGDA_ENODEV:
		return fmt.Errorf("%w: %s", ErrNoDevice, msg)
	case C.ZGDA_ENOMEM:
		return fmt.Errorf("%w: %s", ErrOutOfMemory, msg)
	case C.ZGDA_EINVAL:
		return fmt.Errorf("%w: library refused the arguments: %s", ErrDevice, msg)
	default:
		return fmt.Errorf("%w: %s", ErrDevice, msg)
	}
}
