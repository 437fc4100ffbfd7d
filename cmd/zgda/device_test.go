package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceFlag: without libzgda_cuda.so (as on every CI machine), auto
// runs on the CPU and says why, cuda fails saying what is missing, and a
// bad value is named.
func TestDeviceFlag(t *testing.T) {
	if os.Getenv("ZGDA_CUDA_LIB") != "" {
		t.Skip("ZGDA_CUDA_LIB is set: a CUDA library may be present")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "blob.bin")
	if err := os.WriteFile(file, []byte("hello, device"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "commit", file, "--device", "auto", "--quiet=false", "--json=false")
	if err != nil || !strings.Contains(out, "device auto: using the CPU (") || !strings.Contains(out, "libzgda_cuda.so not found") {
		t.Fatalf("auto: %v\n%s", err, out)
	}
	out, err = run(t, "encode", file, "--out", filepath.Join(dir, "enc"), "--device", "cuda", "-q")
	if err == nil || !strings.Contains(err.Error(), "--device cuda") || !strings.Contains(err.Error(), "make cuda") {
		t.Fatalf("cuda without a library: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "enc")); !os.IsNotExist(err) {
		t.Fatalf("a failed --device cuda wrote output: %v", err)
	}
	out, err = run(t, "bench", "kzg", "--device", "tpu")
	if err == nil || !strings.Contains(err.Error(), `--device "tpu": want auto, cpu or cuda`) {
		t.Fatalf("bad device: %v\n%s", err, out)
	}
	// Leave the shared flags as the other tests expect them.
	run(t, "commit", file, "--device", "auto", "-q")
	run(t, "encode", file, "--out", filepath.Join(dir, "enc2"), "--device", "auto", "-q")
}
