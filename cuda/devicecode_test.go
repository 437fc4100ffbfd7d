package cuda

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceCodeCompiles builds ntt.cu as CUDA with clang (host side, and
// PTX for the device) and checks the Fp/G1 headers' device code through
// internal/clangcheck/g1_probe.cu, against that directory's stand-in for
// cuda_runtime.h, where a clang is installed: the closest check of the
// kernels' source that runs without nvcc.
func TestDeviceCodeCompiles(t *testing.T) {
	clang := ""
	for _, name := range []string{"clang", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14"} {
		if p, err := exec.LookPath(name); err == nil {
			clang = p
			break
		}
	}
	if clang == "" {
		t.Skip("cuda: no clang to compile the device code (apt-get install clang); nvcc builds it with make cuda")
	}
	src := srcDir()
	if src == "" {
		t.Skip("cuda: ntt.cu not found (run from the repository root or cuda/)")
	}
	common := []string{"-x", "cuda", "--cuda-gpu-arch=sm_80", "-nocudainc", "-nocudalib", "-std=c++17", "-O2",
		"-I" + filepath.Join(src, "internal", "clangcheck"), "-D__CUDACC__", "-include", "cuda_runtime.h", "-Wall", "-Werror"}
	ptx := filepath.Join(t.TempDir(), "ntt.ptx")
	for _, extra := range [][]string{
		{"--cuda-host-only", "-fsyntax-only", filepath.Join(src, "ntt.cu")},
		{"--cuda-device-only", "-S", "-o", ptx, filepath.Join(src, "ntt.cu")},
		{"--cuda-device-only", "-fsyntax-only", filepath.Join(src, "internal", "clangcheck", "g1_probe.cu")},
	} {
		args := append(append([]string(nil), common...), extra...)
		if out, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", clang, strings.Join(args, " "), err, out)
		}
	}
	b, err := os.ReadFile(ptx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k_dit", "k_dif", "k_scale"} {
		if !strings.Contains(string(b), ".entry _ZN12zgda_kernels"+fmt.Sprint(len(k))+k) {
			t.Errorf("PTX has no kernel %s", k)
		}
	}
	if strings.Contains(string(b), ".local") {
		t.Errorf("kernels spill to local memory")
	}
}
