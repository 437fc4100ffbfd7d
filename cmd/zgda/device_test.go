package main

import (
	"bytes"
	"os"
	"os/exec"
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

// TestDeviceEmulated runs the commands with --device cuda on libzgda_cuda.so
// built by g++ against the emulated CUDA runtime (cuda/internal/emu): the
// whole GPU path through dlopen, the kernels' code run on the host, must
// give the CPU's bytes. It runs in a child process, since the library is
// loaded once per process.
func TestDeviceEmulated(t *testing.T) {
	if os.Getenv("ZGDA_EMU_CHILD") == "1" {
		deviceEmulatedChild(t)
		return
	}
	cxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++ to build the emulated CUDA library")
	}
	root, _ := filepath.Abs("../..")
	srcs, _ := filepath.Glob(filepath.Join(root, "cuda", "*.cu"))
	if len(srcs) == 0 {
		t.Skip("cuda/*.cu not found")
	}
	lib := filepath.Join(t.TempDir(), "libzgda_cuda.so")
	args := append([]string{"-shared", "-fPIC", "-std=c++17", "-O1", "-DZGDA_BATCH_ELEMS=16384",
		"-I" + filepath.Join(root, "cuda", "internal", "emu"), "-o", lib, "-x", "c++"}, srcs...)
	if out, err := exec.Command(cxx, args...).CombinedOutput(); err != nil {
		t.Fatalf("building the emulated library: %v\n%s", err, out)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestDeviceEmulated$", "-test.v")
	cmd.Env = append(os.Environ(), "ZGDA_EMU_CHILD=1", "ZGDA_CUDA_LIB="+lib, "ZGDA_EMU_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestDeviceEmulated") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func deviceEmulatedChild(t *testing.T) {
	dir := os.Getenv("ZGDA_EMU_DIR")
	blob := make([]byte, 300_000) // R = D = 3, K = 4, N = 12
	for i := range blob {
		blob[i] = byte(i*7 + i/251)
	}
	file := filepath.Join(dir, "blob.bin")
	if err := os.WriteFile(file, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	cpu, err := run(t, "commit", file, "--json", "-q", "--device", "cpu")
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := run(t, "commit", file, "--json", "-q", "--device", "cuda")
	if err != nil || gpu != cpu {
		t.Fatalf("commit --device cuda: %v\n%s\nwant\n%s", err, gpu, cpu)
	}
	out, err := run(t, "commit", file, "--device", "auto", "--quiet=false", "--json=false")
	if err != nil || !strings.Contains(out, "device auto: cuda: zgda host emulation") {
		t.Fatalf("auto with a library and a device: %v\n%s", err, out)
	}
	enc := filepath.Join(dir, "enc")
	if out, err := run(t, "encode", file, "--out", enc, "-q", "--device", "cuda"); err != nil {
		t.Fatalf("encode --device cuda: %v\n%s", err, out)
	}
	// Keep D = 3 of the 12 rows, all parity: decoding needs the column code.
	rows, _ := filepath.Glob(filepath.Join(enc, "row-*.bin"))
	if len(rows) != 12 {
		t.Fatalf("%d row files, want N = 12", len(rows))
	}
	for _, r := range rows[:9] {
		os.Remove(r)
	}
	back := filepath.Join(dir, "back.bin")
	if out, err := run(t, "decode", enc, "--out", back, "-q", "--device", "cuda"); err != nil {
		t.Fatalf("decode --device cuda: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("decoded %d bytes (%v), want the %d posted", len(got), err, len(blob))
	}
}
