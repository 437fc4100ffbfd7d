package cuda

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
)

var tmpDirs struct {
	sync.Mutex
	dirs []string
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tmpDirs.dirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// buildSharedLib compiles C++ sources into a shared library with $CXX (g++
// by default), or skips the test when there is no compiler.
func buildSharedLib(t testing.TB, name string, args ...string) string {
	t.Helper()
	cxx := strings.Fields(os.Getenv("CXX"))
	if len(cxx) == 0 {
		cxx = []string{"g++"}
	}
	if _, err := exec.LookPath(cxx[0]); err != nil {
		t.Skipf("cuda: no C++ compiler to build %s: %v", name, err)
	}
	dir, err := os.MkdirTemp("", "zgda-cuda-test")
	if err != nil {
		t.Fatal(err)
	}
	tmpDirs.Lock()
	tmpDirs.dirs = append(tmpDirs.dirs, dir)
	tmpDirs.Unlock()
	out := filepath.Join(dir, name)
	cmd := exec.Command(cxx[0], append(append(cxx[1:], "-shared", "-fPIC", "-o", out), args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, b)
	}
	return out
}

// srcDir is this package's source directory: the working directory under
// go test, cuda/ when a compiled test binary runs from the repository root
// (as on a GPU machine); "" when neither holds ntt.cu.
func srcDir() string {
	for _, d := range []string{".", "cuda"} {
		if _, err := os.Stat(filepath.Join(d, "ntt.cu")); err == nil {
			abs, _ := filepath.Abs(d)
			return abs
		}
	}
	return ""
}

var emu struct {
	once sync.Once
	path string
	lib  *Lib
	err  error
}

// emuLib builds every cuda/*.cu with g++ against the emulated CUDA runtime
// (internal/emu) once per test binary and loads it. Batches are shrunk to
// 4 rows (16384 elements) so small inputs make many batches over the three
// slots, and the resident-row store to 16 rows so that filling it is cheap.
func emuLib(t testing.TB) *Lib {
	t.Helper()
	src := srcDir()
	if src == "" {
		t.Skip("cuda: ntt.cu not found (run from the repository root or cuda/)")
	}
	emu.once.Do(func() {
		srcs, _ := filepath.Glob(filepath.Join(src, "*.cu"))
		args := append([]string{"-std=c++17", "-O2", "-Wall",
			"-I" + filepath.Join(src, "internal", "emu"), "-DZGDA_BATCH_ELEMS=16384", "-DZGDA_RESIDENT_ROWS=16", "-x", "c++"}, srcs...)
		emu.path = buildSharedLib(t, "libzgda_cuda_emu.so", args...)
		emu.lib, emu.err = LoadPath(emu.path)
	})
	if emu.lib == nil && emu.err == nil {
		t.Skip("cuda: emulated library could not be built (see the first test that tried)")
	}
	if emu.err != nil {
		t.Fatal(emu.err)
	}
	return emu.lib
}

func randElem(r *rand.Rand) fr.Element {
	var b [32]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	var x fr.Element
	x.SetBytes(b[:])
	return x
}

// edgeRow is a row of values that stress reductions: 0, 1, p−1, raw limbs
// p−1, … repeated.
func edgeRow() []fr.Element {
	var e [6]fr.Element
	e[1].SetOne()
	e[2].Neg(&e[1])
	e[3].SetUint64(^uint64(0))
	q := fr.Modulus().Bits()
	e[4] = fr.Element{uint64(q[0]) - 1, uint64(q[1]), uint64(q[2]), uint64(q[3])}
	e[5] = fr.Element{1, 0, 0, 0}
	row := make([]fr.Element, encoder.ElementsPerRow)
	for i := range row {
		row[i] = e[i%len(e)]
	}
	return row
}

func randRows(r *rand.Rand, n, width int) [][]fr.Element {
	rows := make([][]fr.Element, n)
	for i := range rows {
		rows[i] = make([]fr.Element, width)
		switch {
		case i == 1: // zeros
		case i == 2 && width == encoder.ElementsPerRow:
			copy(rows[i], edgeRow())
		default:
			for j := range rows[i] {
				rows[i][j] = randElem(r)
			}
		}
	}
	return rows
}

// garbageRows allocates rows filled with a non-zero pattern, so that an
// element the backend forgets to write shows up.
func garbageRows(n, width int) [][]fr.Element {
	rows := make([][]fr.Element, n)
	for i := range rows {
		rows[i] = make([]fr.Element, width)
		for j := range rows[i] {
			rows[i][j] = fr.Element{0xdead, uint64(i), uint64(j), 0}
		}
	}
	return rows
}

func equalRows(t *testing.T, what string, got, want [][]fr.Element) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for j := range want {
		for i := range want[j] {
			if got[j][i] != want[j][i] {
				t.Fatalf("%s: row %d element %d: got %s, want %s (CPU backend)",
					what, j, i, got[j][i].String(), want[j][i].String())
			}
		}
	}
}

func cloneRows(v [][]fr.Element) [][]fr.Element {
	out := make([][]fr.Element, len(v))
	for i := range v {
		out[i] = append([]fr.Element(nil), v[i]...)
	}
	return out
}

// checkColumns compares be.ExtendColumns with the CPU backend for K data
// rows; with alias, out[0:K] are the data rows themselves.
func checkColumns(t *testing.T, be encoder.Backend, r *rand.Rand, k int, alias bool) {
	t.Helper()
	ctx := context.Background()
	data := randRows(r, k, encoder.ElementsPerRow)
	orig := cloneRows(data)
	want := garbageRows(4*k, encoder.ElementsPerRow)
	if err := encoder.NewCPUBackend(0).ExtendColumns(ctx, orig, want); err != nil {
		t.Fatal(err)
	}
	got := garbageRows(4*k, encoder.ElementsPerRow)
	if alias {
		copy(got, data)
	}
	if err := be.ExtendColumns(ctx, data, got); err != nil {
		t.Fatalf("K=%d: %v", k, err)
	}
	equalRows(t, "columns", got, want)
	equalRows(t, "data after the call", data, orig)
}

// checkBatchColumns compares be.ExtendColumns with the CPU backend as
// EncodeBatch calls it: d data rows padded to K with one shared zero row,
// only the parity rows K … K+3d−1 wanted (the other out rows nil).
func checkBatchColumns(t *testing.T, be encoder.Backend, r *rand.Rand, d int) {
	t.Helper()
	ctx := context.Background()
	k := 1
	for k < d {
		k <<= 1
	}
	data := randRows(r, d, encoder.ElementsPerRow)
	zero := make([]fr.Element, encoder.ElementsPerRow)
	for len(data) < k {
		data = append(data, zero)
	}
	orig := cloneRows(data)
	want := garbageRows(4*k, encoder.ElementsPerRow)
	if err := encoder.NewCPUBackend(0).ExtendColumns(ctx, orig, want); err != nil {
		t.Fatal(err)
	}
	out := make([][]fr.Element, 4*k)
	copy(out[k:], garbageRows(3*d, encoder.ElementsPerRow))
	if err := be.ExtendColumns(ctx, data, out); err != nil {
		t.Fatalf("D=%d: %v", d, err)
	}
	equalRows(t, "parity rows", out[k:k+3*d], want[k:k+3*d])
	for j, row := range out {
		if (row != nil) != (j >= k && j < k+3*d) {
			t.Fatalf("out row %d changed from nil or to nil", j)
		}
	}
	equalRows(t, "data after the call", data, orig)
}

// checkRows compares be.ExtendRows with the CPU backend on n rows; with
// alias, row i is out[i][:4096].
func checkRowsExt(t *testing.T, be encoder.Backend, r *rand.Rand, n int, alias bool) {
	t.Helper()
	ctx := context.Background()
	rows := randRows(r, n, encoder.ElementsPerRow)
	orig := cloneRows(rows)
	want := garbageRows(n, encoder.ElementsPerExtRow)
	if err := encoder.NewCPUBackend(0).ExtendRows(ctx, orig, want); err != nil {
		t.Fatal(err)
	}
	got := garbageRows(n, encoder.ElementsPerExtRow)
	if alias {
		for i := range rows {
			copy(got[i], rows[i])
			rows[i] = got[i][:encoder.ElementsPerRow]
		}
	}
	if err := be.ExtendRows(ctx, rows, got); err != nil {
		t.Fatalf("%d rows: %v", n, err)
	}
	equalRows(t, "rows", got, want)
	if !alias {
		equalRows(t, "rows after the call", rows, orig)
	}
}
