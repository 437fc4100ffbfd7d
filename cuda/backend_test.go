package cuda

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/zgda/zgda/encoder"
)

// deviceBackend opens the real library on device 0, or skips when there
// is no library or no device: the default suite never needs a GPU. Any
// other failure (a library that does not load, a stale ABI, a failed
// self-test) fails: on a GPU machine that is the news.
func deviceBackend(t testing.TB) *Backend {
	t.Helper()
	lib := deviceLib(t)
	b, err := newBackend(lib, 0)
	if errors.Is(err, ErrNoDevice) {
		t.Skipf("cuda: no device: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	t.Logf("cuda: %s from %s", b.Device(), lib.Path())
	return b
}

// TestDeviceDifferential: the CUDA backend against the CPU backend on the
// same inputs, byte for byte, on a real device.
func TestDeviceDifferential(t *testing.T) {
	be := deviceBackend(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 4, 64, 256} {
		t.Run(fmt.Sprintf("columns/K=%d", k), func(t *testing.T) { checkColumns(t, be, r, k, false) })
	}
	t.Run("columns/K=16/aliased", func(t *testing.T) { checkColumns(t, be, r, 16, true) })
	for _, n := range []int{1, 4, 33, 256, 1024} {
		t.Run(fmt.Sprintf("rows/n=%d", n), func(t *testing.T) { checkRowsExt(t, be, r, n, false) })
	}
	t.Run("rows/n=40/aliased", func(t *testing.T) { checkRowsExt(t, be, r, 40, true) })
	for _, d := range []int{5, 129, 256} {
		t.Run(fmt.Sprintf("columns/D=%d/batch", d), func(t *testing.T) { checkBatchColumns(t, be, r, d) })
	}
	t.Run("concurrent", func(t *testing.T) { concurrentCalls(t, be) })
}

// TestEmulatedDifferential runs ntt.cu's pipeline and kernels, built with
// g++ against the emulated CUDA runtime, through this package's loader and
// backend: everything but the device itself.
func TestEmulatedDifferential(t *testing.T) {
	lib := emuLib(t)
	be, err := newBackend(lib, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if !strings.Contains(be.Device(), "emulation") {
		t.Fatalf("device %q", be.Device())
	}
	r := rand.New(rand.NewPCG(3, 4))
	// With 16384-element batches K=16 takes 4 batches of 1024 columns and
	// K=64 16 of 256; 13 rows take 4 batches (3 slots: every slot reused).
	for _, k := range []int{1, 2, 4, 16, 64} {
		t.Run(fmt.Sprintf("columns/K=%d", k), func(t *testing.T) { checkColumns(t, be, r, k, false) })
	}
	t.Run("columns/K=8/aliased", func(t *testing.T) { checkColumns(t, be, r, 8, true) })
	for _, n := range []int{0, 1, 4, 5, 13} {
		t.Run(fmt.Sprintf("rows/n=%d", n), func(t *testing.T) { checkRowsExt(t, be, r, n, false) })
	}
	t.Run("rows/n=5/aliased", func(t *testing.T) { checkRowsExt(t, be, r, 5, true) })
	t.Run("columns/D=5/batch", func(t *testing.T) { checkBatchColumns(t, be, r, 5) })
	t.Run("concurrent", func(t *testing.T) { concurrentCalls(t, be) })
}

func concurrentCalls(t *testing.T, be encoder.Backend) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			ctx := context.Background()
			data := randRows(r, 2, encoder.ElementsPerRow)
			want := garbageRows(8, encoder.ElementsPerRow)
			got := garbageRows(8, encoder.ElementsPerRow)
			if err := encoder.NewCPUBackend(1).ExtendColumns(ctx, data, want); err != nil {
				errs <- err
				return
			}
			if err := be.ExtendColumns(ctx, data, got); err != nil {
				errs <- err
				return
			}
			for j := range want {
				for i := range want[j] {
					if got[j][i] != want[j][i] {
						errs <- fmt.Errorf("goroutine %d: row %d element %d differs", g, j, i)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestEmulatedErrors(t *testing.T) {
	lib := emuLib(t)
	ctx := context.Background()

	t.Run("no device", func(t *testing.T) {
		t.Setenv("ZGDA_EMU_NO_DEVICE", "1")
		_, err := lib.Init(0)
		if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "no CUDA-capable device") {
			t.Fatalf("Init: %v, want ErrNoDevice with the driver's message", err)
		}
		if _, err := NewBackend(lib, 0); !errors.Is(err, ErrNoDevice) {
			t.Fatalf("NewBackend: %v", err)
		}
		be, why := auto(func() (*Lib, error) { return lib, nil })
		if be.Name() != "cpu" || !strings.HasPrefix(why, "cpu: cuda: no CUDA device") {
			t.Fatalf("auto: %s, %q", be.Name(), why)
		}
	})
	t.Run("device out of range", func(t *testing.T) {
		if _, err := NewBackend(lib, 1); !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "device 1") {
			t.Fatalf("NewBackend(1): %v", err)
		}
	})

	be, err := newBackend(lib, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	r := rand.New(rand.NewPCG(5, 6))

	t.Run("copy fails, then recovers", func(t *testing.T) {
		t.Setenv("ZGDA_EMU_FAIL_COPY", "1")
		rows := randRows(r, 9, encoder.ElementsPerRow)
		err := be.ExtendRows(ctx, rows, garbageRows(9, encoder.ElementsPerExtRow))
		if !errors.Is(err, ErrDevice) || !strings.Contains(err.Error(), "cudaMemcpyAsync") {
			t.Fatalf("ExtendRows with failing copies: %v", err)
		}
		t.Setenv("ZGDA_EMU_FAIL_COPY", "0")
		checkRowsExt(t, be, r, 9, false)
		checkColumns(t, be, r, 4, false)
	})
	t.Run("auto picks cuda", func(t *testing.T) {
		b, why := auto(func() (*Lib, error) { return lib, nil })
		defer b.(*Backend).Close()
		if b.Name() != "cuda" || !strings.HasPrefix(why, "cuda: zgda host emulation") {
			t.Fatalf("auto: %s, %q", b.Name(), why)
		}
	})
	t.Run("shapes", func(t *testing.T) {
		for name, call := range map[string]func() error{
			"K=3":           func() error { return be.ExtendColumns(ctx, garbageRows(3, 4096), garbageRows(12, 4096)) },
			"K=512":         func() error { return be.ExtendColumns(ctx, garbageRows(512, 4096), garbageRows(2048, 4096)) },
			"K=0":           func() error { return be.ExtendColumns(ctx, nil, nil) },
			"short data":    func() error { return be.ExtendColumns(ctx, garbageRows(2, 4095), garbageRows(8, 4096)) },
			"out rows":      func() error { return be.ExtendColumns(ctx, garbageRows(2, 4096), garbageRows(7, 4096)) },
			"out width":     func() error { return be.ExtendColumns(ctx, garbageRows(2, 4096), garbageRows(8, 8192)) },
			"rows width":    func() error { return be.ExtendRows(ctx, garbageRows(2, 8192), garbageRows(2, 8192)) },
			"rows out":      func() error { return be.ExtendRows(ctx, garbageRows(2, 4096), garbageRows(3, 8192)) },
			"rows out wide": func() error { return be.ExtendRows(ctx, garbageRows(2, 4096), garbageRows(2, 4096)) },
		} {
			if err := call(); !errors.Is(err, encoder.ErrShape) {
				t.Errorf("%s: %v, want ErrShape", name, err)
			}
		}
	})
	t.Run("canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := be.ExtendRows(cctx, garbageRows(1, 4096), garbageRows(1, 8192))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		b, err := newBackend(lib, 0)
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		b.Close()
		if err := b.ExtendRows(ctx, garbageRows(1, 4096), garbageRows(1, 8192)); !errors.Is(err, ErrClosed) {
			t.Fatalf("%v", err)
		}
	})
}

var benchSizes = []struct {
	name  string
	bytes int
}{
	{"1MiB", 1 << 20},
	{"8MiB", 8 << 20},
	{"31MiB", encoder.MaxBlobSize},
}

// BenchmarkExtend is both extensions of a blob's batch matrix (K rows, the
// blob's R padded to a power of two), columns ×4 then every extended row ×2
// (payload bytes/s), on each backend.
func BenchmarkExtend(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchSizes {
		p, _ := encoder.ParamsFor(s.bytes)
		r := rand.New(rand.NewPCG(uint64(s.bytes), 7))
		k := 1
		for k < p.Rows {
			k <<= 1
		}
		data := randRows(r, k, encoder.ElementsPerRow)
		ext := garbageRows(4*k, encoder.ElementsPerRow)
		cells := garbageRows(4*k, encoder.ElementsPerExtRow)
		for _, name := range []string{"cuda", "cpu"} {
			b.Run(s.name+"/"+name, func(b *testing.B) {
				var be encoder.Backend = encoder.NewCPUBackend(0)
				if name == "cuda" {
					be = deviceBackend(b)
				}
				b.SetBytes(int64(s.bytes))
				b.ReportAllocs()
				for b.Loop() {
					if err := be.ExtendColumns(ctx, data, ext); err != nil {
						b.Fatal(err)
					}
					if err := be.ExtendRows(ctx, ext, cells); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// deviceLib loads the real library, or skips when none is installed; a
// library that is there and does not load fails the test.
func deviceLib(t testing.TB) *Lib {
	t.Helper()
	lib, err := Load()
	if errors.Is(err, ErrNotFound) {
		t.Skipf("cuda: no library (build it with `make cuda`): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return lib
}
