package cuda

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSearchPaths(t *testing.T) {
	t.Setenv("ZGDA_CUDA_LIB", "/opt/zgda/libzgda_cuda.so")
	p := SearchPaths()
	if len(p) < 3 || p[0] != "/opt/zgda/libzgda_cuda.so" {
		t.Fatalf("search paths %q: $ZGDA_CUDA_LIB must come first", p)
	}
	exe, _ := os.Executable()
	if p[1] != filepath.Join(filepath.Dir(exe), LibName) {
		t.Fatalf("second path %q, want next to the executable", p[1])
	}
	src := srcDir() // …/cuda: the module root is its parent
	if src == "" {
		t.Skip("cuda: run from the repository root or cuda/")
	}
	root := filepath.Join(filepath.Dir(src), "cuda", "build", LibName)
	found := false
	for _, q := range p {
		found = found || q == root
	}
	if !found {
		t.Fatalf("search paths %q lack the module root's %s", p, root)
	}
}

func TestLoadNotFound(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope", LibName)
	_, err := loadFirst([]string{missing})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("%v, want ErrNotFound", err)
	}
	for _, s := range []string{missing, "make cuda", "nvcc"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	be, why := auto(func() (*Lib, error) { return nil, err })
	if be.Name() != "cpu" || !strings.Contains(why, "not found") {
		t.Fatalf("auto without a library: %s, %q", be.Name(), why)
	}
}

func TestLoadBadLibraries(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), LibName)
	if err := os.WriteFile(garbage, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPath(garbage); !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), garbage) {
		t.Fatalf("garbage file: %v, want ErrLoad naming it", err)
	}

	src := filepath.Join(t.TempDir(), "stub.cc")
	write := func(code string) {
		if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`extern "C" int zgda_cuda_version(void) { return 1; }`)
	partial := buildSharedLib(t, "partial.so", src)
	if _, err := LoadPath(partial); !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "no symbol zgda_cuda_init") {
		t.Fatalf("library without the symbols: %v", err)
	}

	write(`#include <stddef.h>
extern "C" {
int zgda_cuda_version(void) { return 99; }
int zgda_cuda_init(int, char*, size_t) { return 0; }
void* zgda_cuda_open(int, int*, char*, size_t) { return 0; }
void zgda_cuda_close(void*) {}
int zgda_cuda_extend_columns() { return 0; }
int zgda_cuda_extend_rows() { return 0; }
}`)
	future := buildSharedLib(t, "future.so", src)
	if _, err := LoadPath(future); !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "ABI 99") {
		t.Fatalf("library of another ABI: %v", err)
	}
}
