package cuda

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// emuCommitter opens one committer on the emulated library per test binary:
// building the window table is the slow part on a CPU.
var emuCom struct {
	once sync.Once
	c    *Committer
	err  error
}

func emuCommitter(t *testing.T) *Committer {
	t.Helper()
	lib := emuLib(t)
	emuCom.once.Do(func() { emuCom.c, emuCom.err = newCommitter(lib, 0, kzg.Default()) })
	if emuCom.err != nil {
		t.Fatal(emuCom.err)
	}
	return emuCom.c
}

// checkCommitRows compares com.CommitRows with kzg.Default().CommitRows on
// n rows (randRows: row 1 all zeros, row 2 edge values), byte for byte.
func checkCommitRows(t *testing.T, com encoder.Committer, r *rand.Rand, n int) {
	t.Helper()
	ctx := context.Background()
	rows := randRows(r, n, encoder.ElementsPerRow)
	if n > 3 { // one non-zero element
		clear(rows[3])
		rows[3][4095] = randElem(r)
	}
	orig := cloneRows(rows)
	want, err := kzg.Default().CommitRows(ctx, rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last int
	got, err := com.CommitRows(ctx, rows, func(done int) {
		if done <= last || done > n {
			t.Errorf("progress %d after %d of %d", done, last, n)
		}
		last = done
	})
	if err != nil {
		t.Fatalf("%d rows: %v", n, err)
	}
	if last != n {
		t.Errorf("progress ended at %d of %d", last, n)
	}
	if len(got) != n {
		t.Fatalf("%d commitments for %d rows", len(got), n)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d of %d: commitment %s, kzg %s", i, n, got[i], want[i])
		}
	}
	equalRows(t, "rows after the call", rows, orig)
}

// TestEmulatedCommitter runs msm.cu's pipeline and kernels, built with g++
// against the emulated CUDA runtime, through the Committer: everything but
// the device. Batches are 4 rows there, so 17 rows make five batches over
// the three slots.
func TestEmulatedCommitter(t *testing.T) {
	com := emuCommitter(t)
	if !strings.Contains(com.Device(), "emulation") {
		t.Fatalf("device %q", com.Device())
	}
	r := rand.New(rand.NewPCG(8, 9))
	for _, n := range []int{1, 3, 17} {
		t.Run(fmt.Sprintf("rows=%d", n), func(t *testing.T) { checkCommitRows(t, com, r, n) })
	}
	t.Run("no rows", func(t *testing.T) {
		got, err := com.CommitRows(context.Background(), nil, nil)
		if err != nil || len(got) != 0 {
			t.Fatalf("%v, %d commitments", err, len(got))
		}
	})
}

func TestEmulatedCommitterErrors(t *testing.T) {
	lib := emuLib(t)
	com := emuCommitter(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(10, 11))

	t.Run("no device", func(t *testing.T) {
		t.Setenv("ZGDA_EMU_NO_DEVICE", "1")
		if _, err := NewCommitter(lib, 0, nil); !errors.Is(err, ErrNoDevice) {
			t.Fatalf("NewCommitter: %v, want ErrNoDevice", err)
		}
	})
	t.Run("no library", func(t *testing.T) {
		if _, err := NewCommitter(nil, 0, nil); !errors.Is(err, ErrLoad) {
			t.Fatalf("NewCommitter(nil): %v, want ErrLoad", err)
		}
	})
	t.Run("row length", func(t *testing.T) {
		rows := randRows(r, 2, encoder.ElementsPerRow)
		rows[1] = rows[1][:4095]
		if _, err := com.CommitRows(ctx, rows, nil); !errors.Is(err, kzg.ErrRowLength) {
			t.Fatalf("%v, want kzg.ErrRowLength", err)
		}
	})
	t.Run("copy fails, then recovers", func(t *testing.T) {
		t.Setenv("ZGDA_EMU_FAIL_COPY", "1")
		_, err := com.CommitRows(ctx, randRows(r, 2, encoder.ElementsPerRow), nil)
		if !errors.Is(err, ErrDevice) || !strings.Contains(err.Error(), "cudaMemcpyAsync") {
			t.Fatalf("CommitRows with failing copies: %v", err)
		}
		t.Setenv("ZGDA_EMU_FAIL_COPY", "0")
		checkCommitRows(t, com, r, 2)
	})
	t.Run("canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := com.CommitRows(cctx, randRows(r, 1, encoder.ElementsPerRow), nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("%v, want context.Canceled", err)
		}
	})
	t.Run("canceled between chunks", func(t *testing.T) {
		com.mu.Lock()
		com.chunk = 1
		com.mu.Unlock()
		defer func() {
			com.mu.Lock()
			com.chunk = commitChunk
			com.mu.Unlock()
		}()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		calls := 0
		_, err := com.CommitRows(cctx, randRows(r, 3, encoder.ElementsPerRow), func(done int) {
			calls++
			cancel()
		})
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Fatalf("%v after %d progress calls, want context.Canceled after 1", err, calls)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, err := newCommitterOver(lib, 0, nil, smallBases(4))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		c.Close()
		if _, err := c.CommitRows(ctx, randRows(r, 1, 4), nil); !errors.Is(err, ErrClosed) {
			t.Fatalf("%v, want ErrClosed", err)
		}
	})
}

// smallBases returns n distinct multiples of the G1 generator, with a point
// at infinity, a repeated point and a point and its negation among them
// (n ≥ 8).
func smallBases(n int) []bls.G1Affine {
	_, _, g, _ := bls.Generators()
	pts := make([]bls.G1Affine, n)
	for i := range pts {
		pts[i].ScalarMultiplication(&g, big.NewInt(int64(1000003*i+7)))
	}
	if n >= 8 {
		pts[3] = bls.G1Affine{}
		pts[5] = pts[4]
		pts[7].Neg(&pts[6])
	}
	return pts
}

// TestEmulatedCommitterSmallBases: the library over 16 bases other than the
// setup's (infinity, equal and opposite bases; rows with equal and opposite
// scalars on them) against gnark-crypto's MultiExp. Small, so its batches
// hold several rows of few scalars.
func TestEmulatedCommitterSmallBases(t *testing.T) {
	lib := emuLib(t)
	bases := smallBases(16)
	c, err := newCommitterOver(lib, 0, nil, bases)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := rand.New(rand.NewPCG(16, 17))
	rows := randRows(r, 11, len(bases))
	rows[3][5] = rows[3][4]
	rows[4][7] = rows[4][6]
	for i := range rows[5] {
		rows[5][i] = rows[5][0]
	}
	rows[6][0].SetOne()
	rows[6][0].Neg(&rows[6][0])
	got, err := c.CommitRows(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		var want bls.G1Affine
		if _, err := want.MultiExp(bases, rows[i], ecc.MultiExpConfig{}); err != nil {
			t.Fatal(err)
		}
		if got[i] != kzg.Commitment(want.Bytes()) {
			t.Fatalf("row %d: %s, gnark MultiExp %x", i, got[i], want.Bytes())
		}
	}
}

// deviceCommitter opens the real library's committer on device 0, or skips
// when there is no library or no device. Any other failure (a stale
// library, a failed device self-test) fails the test: on a GPU machine that
// is the news.
func deviceCommitter(t testing.TB) *Committer {
	t.Helper()
	lib := deviceLib(t)
	c, err := newCommitter(lib, 0, kzg.Default())
	if errors.Is(err, ErrNoDevice) {
		t.Skipf("cuda: no device: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Logf("cuda: %s from %s", c.Device(), lib.Path())
	return c
}

// TestDeviceCommitter: the CUDA committer against kzg on the same rows,
// byte for byte, on a real device.
func TestDeviceCommitter(t *testing.T) {
	com := deviceCommitter(t)
	r := rand.New(rand.NewPCG(12, 13))
	for _, n := range []int{1, 3, 17, 33, 200} {
		t.Run(fmt.Sprintf("rows=%d", n), func(t *testing.T) { checkCommitRows(t, com, r, n) })
	}
	t.Run("same scalar everywhere", func(t *testing.T) {
		// Every point of a window in one bucket: the worst case for the
		// bucket kernel's balance, and a check of long bucket lists.
		rows := randRows(r, 2, encoder.ElementsPerRow)
		for i := range rows[0] {
			rows[0][i] = rows[0][0]
			rows[1][i].SetOne()
		}
		want, err := kzg.Default().CommitRows(context.Background(), rows, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := com.CommitRows(context.Background(), rows, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("row %d: %s, kzg %s", i, got[i], want[i])
			}
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			rr := rand.New(rand.NewPCG(uint64(g), 14))
			wg.Add(1)
			go func() {
				defer wg.Done()
				checkCommitRows(t, com, rr, 9)
			}()
		}
		wg.Wait()
	})
}

// TestMSMDeviceCodeCompiles checks msm.cu as CUDA with clang where one is
// installed (see TestDeviceCodeCompiles): host side and device side always;
// the PTX itself only with ZGDA_LONG=1 or ZGDA_CUDA_PTX=1 (CI sets it),
// because clang needs minutes (about 2.5 on 2 cores) for the fully inlined
// G1 kernels.
func TestMSMDeviceCodeCompiles(t *testing.T) {
	long := os.Getenv("ZGDA_LONG") != "" || os.Getenv("ZGDA_CUDA_PTX") != ""
	b := clangCUDA(t, "msm.cu", long)
	if !long {
		t.Log("PTX generation skipped (minutes); run with ZGDA_CUDA_PTX=1 or ZGDA_LONG=1")
		return
	}
	// Kernels in PTX order; the per-scalar (pack included) and per-bucket
	// ones must keep everything in registers.
	hot := map[string]bool{"k_pack": true, "k_msm_digits": true, "k_msm_count": true, "k_msm_scatter": true, "k_msm_bucket": true,
		"k_msm_reduce": true}
	entries := strings.Split(string(b), ".entry ")
	for _, k := range []string{"k_msm_table_jac", "k_msm_table_affine", "k_pack", "k_msm_digits", "k_msm_count", "k_msm_bin_scan",
		"k_msm_base_scan", "k_msm_scatter", "k_msm_bounds", "k_msm_chunk_scan", "k_msm_bucket", "k_msm_reduce",
		"k_msm_combine", "k_msm_finish", "k_msm_affine"} {
		sym := "_ZN16zgda_msm_kernels" + fmt.Sprint(len(k)) + k + "E"
		found := false
		for _, e := range entries[1:] {
			if strings.HasPrefix(e, sym) {
				found = true
				if hot[k] && strings.Contains(e, ".local") {
					t.Errorf("kernel %s spills to local memory", k)
				}
			}
		}
		if !found {
			t.Errorf("PTX has no kernel %s", k)
		}
	}
}

// BenchmarkCommitRows: row commitments (payload bytes/s: 4096 × 31 bytes a
// row) on the device and on the CPU (kzg.Default, all cores).
func BenchmarkCommitRows(b *testing.B) {
	ctx := context.Background()
	if err := kzg.Default().Warm(); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 16, 256} {
		r := rand.New(rand.NewPCG(uint64(n), 15))
		rows := make([][]fr.Element, n)
		for i := range rows {
			rows[i] = make([]fr.Element, encoder.ElementsPerRow)
			for j := range rows[i] {
				rows[i][j] = randElem(r)
			}
		}
		for _, name := range []string{"cuda", "cpu"} {
			b.Run(fmt.Sprintf("%d/%s", n, name), func(b *testing.B) {
				var com encoder.Committer = kzg.Default()
				if name == "cuda" {
					com = deviceCommitter(b)
				}
				b.SetBytes(int64(n * 4096 * 31))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := com.CommitRows(ctx, rows, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
