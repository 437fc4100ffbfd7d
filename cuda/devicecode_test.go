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
// clangCUDA compiles src (a .cu file of this directory) as CUDA with clang
// against internal/clangcheck's stand-in for cuda_runtime.h: host side,
// device side, and PTX when ptx is set (returned), then any extra
// invocations. It skips without a clang or the sources.
func clangCUDA(t *testing.T, src string, ptx bool, extra ...[]string) []byte {
	t.Helper()
	clang := ""
	for _, name := range []string{"clang", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14"} {
		if p, err := exec.LookPath(name); err == nil {
			clang = p
			break
		}
	}
	if clang == "" {
		t.Skipf("cuda: no clang to compile %s's device code (apt-get install clang); nvcc builds it with make cuda", src)
	}
	dir := srcDir()
	if dir == "" {
		t.Skipf("cuda: %s not found (run from the repository root or cuda/)", src)
	}
	common := []string{"-x", "cuda", "--cuda-gpu-arch=sm_80", "-nocudainc", "-nocudalib", "-std=c++17", "-O2",
		"-I" + filepath.Join(dir, "internal", "clangcheck"), "-D__CUDACC__", "-include", "cuda_runtime.h", "-Wall", "-Werror"}
	file := filepath.Join(dir, src)
	out := filepath.Join(t.TempDir(), src+".ptx")
	steps := [][]string{{"--cuda-host-only", "-fsyntax-only", file}, {"--cuda-device-only", "-fsyntax-only", file}}
	if ptx {
		steps = append(steps, []string{"--cuda-device-only", "-S", "-o", out, file})
	}
	for _, s := range append(steps, extra...) {
		args := append(append([]string(nil), common...), s...)
		if msg, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", clang, strings.Join(args, " "), err, msg)
		}
	}
	if !ptx {
		return nil
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeviceCodeCompiles(t *testing.T) {
	src := srcDir()
	b := clangCUDA(t, "ntt.cu", true,
		[]string{"--cuda-device-only", "-fsyntax-only", filepath.Join(src, "internal", "clangcheck", "g1_probe.cu")})
	for _, k := range []string{"k_extend_columns", "k_dit", "k_dif", "k_scale", "k_g1_load", "k_g1_dit", "k_g1_dif", "k_g1_scale"} {
		if !strings.Contains(string(b), ".entry _ZN12zgda_kernels"+fmt.Sprint(len(k))+k) {
			t.Errorf("PTX has no kernel %s", k)
		}
	}
	if strings.Contains(string(b), ".local") {
		t.Errorf("kernels spill to local memory")
	}
}

// TestRowStoreCompiles checks rows.cu (host code over the CUDA runtime, no
// kernels) as CUDA with clang, host and device side.
func TestRowStoreCompiles(t *testing.T) {
	clangCUDA(t, "rows.cu", false)
}
