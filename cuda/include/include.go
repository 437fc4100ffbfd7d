// Package include holds the CUDA C++ headers shared by the kernels
// (cuda/*.cu) and the host checks (cuda/internal/hostcheck).
//
// The Go build cache does not track headers that cgo code includes from
// outside its own directory; packages that compile these headers import this
// one, whose embedded copy changes its build ID whenever a header changes.
package include

import "embed"

// Headers are the *.cuh files.
//
//go:embed *.cuh
var Headers embed.FS
