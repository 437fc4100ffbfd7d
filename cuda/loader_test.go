package cuda

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSearchPaths(t *testing.T) {
	t.Setenv("ZGDA_CUDA_LIB", "/opt/zgda/libzgda_cuda.so")
	p := SearchPaths()
	exe, _ := os.Executable()
	if len(p) != 2 || p[0] != "/opt/zgda/libzgda_cuda.so" || p[1] != filepath.Join(filepath.Dir(exe), LibName) {
		t.Fatalf("search paths %q: want $ZGDA_CUDA_LIB, then next to the executable, and nothing else", p)
	}
	// The working directory is never searched, even when it holds a
	// library where `make cuda` builds one.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cuda", "build"), 0o755)
	os.WriteFile(filepath.Join(dir, "cuda", "build", LibName), []byte("not a library"), 0o644)
	t.Chdir(dir)
	t.Setenv("ZGDA_CUDA_LIB", "")
	for _, q := range SearchPaths() {
		if strings.HasPrefix(q, dir) {
			t.Fatalf("search paths %q include the working directory", SearchPaths())
		}
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
	write(`extern "C" int zgda_cuda_version(void) { return ` + strconv.Itoa(ABIVersion) + `; }`)
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

// A library that is installed but does not load is ErrLoad, not
// ErrNotFound, so the device tests fail on it instead of skipping
// (deviceLib): a stale or broken .so on a GPU host is news, not a pass.
func TestBrokenLibraryFailsNotSkips(t *testing.T) {
	bad := filepath.Join(t.TempDir(), LibName)
	if err := os.WriteFile(bad, []byte("not a shared object"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ZGDA_CUDA_LIB", bad)
	_, err := loadFirst(SearchPaths()) // what Load does once per process
	if err == nil || errors.Is(err, ErrNotFound) || !errors.Is(err, ErrLoad) {
		t.Fatalf("loading a broken library: %v, want ErrLoad and not ErrNotFound", err)
	}
}

// cuda/devrun.sh, the prepared run for a GPU machine, says at once that it
// needs one and exits non-zero on a machine without a GPU.
func TestDevrunWithoutGPU(t *testing.T) {
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Skip("cuda: nvidia-smi is here: devrun.sh would run for real")
	}
	dir := srcDir()
	if dir == "" {
		t.Skip("cuda: run from the repository root or cuda/")
	}
	cmd := exec.Command("bash", filepath.Join(dir, "devrun.sh"))
	cmd.Env = append(os.Environ(), "OUT="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "no NVIDIA GPU here") {
		t.Fatalf("devrun.sh without a GPU: %v\n%s", err, out)
	}
}
