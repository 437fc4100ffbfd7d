package cuda

import "errors"

var (
	// ErrNotFound: libzgda_cuda.so is in none of the searched places.
	ErrNotFound = errors.New("cuda: libzgda_cuda.so not found")
	// ErrLoad: a library was found but cannot be used (dlopen failed, a
	// symbol is missing, or it was built for another ABI version).
	ErrLoad = errors.New("cuda: cannot load libzgda_cuda.so")
	// ErrNoDevice: the library loaded but there is no usable CUDA device.
	ErrNoDevice = errors.New("cuda: no CUDA device")
	// ErrDevice: a CUDA call or the device self-test failed.
	ErrDevice = errors.New("cuda: device error")
	// ErrOutOfMemory: device or pinned host memory is exhausted.
	ErrOutOfMemory = errors.New("cuda: out of memory")
	// ErrClosed: the backend was closed.
	ErrClosed = errors.New("cuda: backend closed")
)
