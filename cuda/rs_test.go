package cuda

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// rsCases are the (k, m) layouts the tests cover (storage uses k + m
// volumes; bench rs measures 4+2 and 10+4).
var rsCases = []struct{ k, m int }{{4, 2}, {10, 4}, {3, 1}, {6, 2}}

// rsSizes are shard lengths: below, at and just past one 16-byte vector,
// odd, and large.
var rsSizes = []int{1, 63, 64, 4096 + 7, 1 << 20}

// klauspostNew is reedsolomon.New with the options storage/codec.go passes.
func klauspostNew(t testing.TB, k, m int) reedsolomon.Encoder {
	t.Helper()
	enc, err := reedsolomon.New(k, m, reedsolomon.WithMaxGoroutines(2))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// rsShards returns k data shards of n bytes (random, one all zero, one all
// 0xff) followed by m parity shards filled with garbage, so that a parity
// byte the encoder forgets to write shows up.
func rsShards(r *rand.Rand, k, m, n int) [][]byte {
	shards := make([][]byte, k+m)
	for i := range shards {
		shards[i] = make([]byte, n)
		for p := range shards[i] {
			switch {
			case i >= k:
				shards[i][p] = 0xa5
			case i == 1:
			case i == 2:
				shards[i][p] = 0xff
			default:
				shards[i][p] = byte(r.Uint32())
			}
		}
	}
	return shards
}

func cloneShards(v [][]byte) [][]byte {
	out := make([][]byte, len(v))
	for i := range v {
		out[i] = append([]byte(nil), v[i]...)
	}
	return out
}

// checkRSEncode compares e.Encode with klauspost's Encode, byte for byte,
// and checks that the data shards are left alone.
func checkRSEncode(t *testing.T, e *RSEncoder, r *rand.Rand, n int) {
	t.Helper()
	k, m := e.DataShards(), e.ParityShards()
	got := rsShards(r, k, m, n)
	want := cloneShards(got)
	if err := klauspostNew(t, k, m).Encode(want); err != nil {
		t.Fatal(err)
	}
	if err := e.Encode(got); err != nil {
		t.Fatalf("%d+%d, %d-byte shards: %v", k, m, n, err)
	}
	compareShards(t, got, want)
}

func compareShards(t *testing.T, got, want [][]byte) {
	t.Helper()
	for i := range want {
		for p := range want[i] {
			if got[i][p] != want[i][p] {
				t.Fatalf("shard %d byte %d: %#x, klauspost %#x", i, p, got[i][p], want[i][p])
			}
		}
	}
}

// deviceRS opens an RS encoder on device 0 of the real library or skips:
// the default suite never needs a GPU.
func deviceRS(t testing.TB, k, m int) *RSEncoder {
	t.Helper()
	lib := deviceLib(t)
	e, err := NewRSEncoder(lib, 0, k, m)
	if errors.Is(err, ErrNoDevice) {
		t.Skipf("cuda: no device for the RS device test: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestRSDeviceDifferential: the CUDA encoder against klauspost on a real
// device, through the host pipeline and the device-resident entry point.
func TestRSDeviceDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range append(rsCases, struct{ k, m int }{20, 11}, struct{ k, m int }{128, 128}) {
		e := deviceRS(t, c.k, c.m)
		if c.k == 4 {
			t.Logf("cuda: %s", e.Device())
		}
		for _, n := range append(rsSizes, 32<<20/c.k+5) {
			t.Run(fmt.Sprintf("%d+%d/%d", c.k, c.m, n), func(t *testing.T) {
				checkRSEncode(t, e, r, n)
				checkRSDevice(t, e, r, n)
			})
		}
	}
}

func emuRS(t *testing.T, k, m, chunk int) *RSEncoder {
	t.Helper()
	e, err := newRSEncoder(emuLib(t), 0, k, m, chunk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestRSEmulated runs rs.cu's pipeline and kernel, built with g++ against
// the emulated CUDA runtime, through this package's loader and encoder,
// with the default chunk and with chunks of a few hundred bytes (many
// chunks over the three slots, a short last one).
func TestRSEmulated(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, c := range rsCases {
		for _, chunk := range []int{0, 1000} {
			e := emuRS(t, c.k, c.m, chunk)
			for _, n := range rsSizes {
				if chunk != 0 && n == 1<<20 && c.k != 3 {
					continue // thousands of chunks: once is enough
				}
				t.Run(fmt.Sprintf("%d+%d/%d/chunk=%d", c.k, c.m, n, chunk), func(t *testing.T) {
					checkRSEncode(t, e, r, n)
					if n < 1<<20 {
						checkRSDevice(t, e, r, n)
					}
				})
			}
		}
	}
	t.Run("m=9 (three tiles)", func(t *testing.T) {
		e := emuRS(t, 5, 9, 0)
		checkRSEncode(t, e, r, 1000)
		checkRSDevice(t, e, r, 333)
	})
	t.Run("concurrent", func(t *testing.T) {
		e := emuRS(t, 4, 2, 512)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rr := rand.New(rand.NewPCG(uint64(g), 15))
				shards := rsShards(rr, 4, 2, 3000+g)
				want := cloneShards(shards)
				if err := klauspostNew(t, 4, 2).Encode(want); err != nil {
					errs <- err
					return
				}
				for range 5 {
					if err := e.Encode(shards); err != nil {
						errs <- err
						return
					}
				}
				for i := range want {
					if string(shards[i]) != string(want[i]) {
						errs <- fmt.Errorf("goroutine %d: shard %d differs from klauspost", g, i)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// checkRSDevice: upload the data, encode on the device only, download the
// parity, compare with klauspost.
func checkRSDevice(t *testing.T, e *RSEncoder, r *rand.Rand, n int) {
	t.Helper()
	k, m := e.DataShards(), e.ParityShards()
	got := rsShards(r, k, m, n)
	want := cloneShards(got)
	if err := klauspostNew(t, k, m).Encode(want); err != nil {
		t.Fatal(err)
	}
	d, err := e.NewDeviceShards(n)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	if err := d.Upload(got[:k]); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if err := d.Encode(); err != nil {
		t.Fatalf("device encode: %v", err)
	}
	if err := d.Download(got[k:]); err != nil {
		t.Fatalf("download: %v", err)
	}
	compareShards(t, got, want)
}

func TestRSEmulatedErrors(t *testing.T) {
	lib := emuLib(t)
	r := rand.New(rand.NewPCG(16, 17))

	t.Run("shard counts", func(t *testing.T) {
		for _, c := range []struct {
			k, m int
			want error
		}{{0, 2, reedsolomon.ErrInvShardNum}, {4, 0, reedsolomon.ErrInvShardNum}, {200, 57, reedsolomon.ErrMaxShardNum}} {
			if _, err := NewRSEncoder(lib, 0, c.k, c.m); !errors.Is(err, c.want) {
				t.Errorf("NewRSEncoder(%d, %d): %v, want %v", c.k, c.m, err, c.want)
			}
		}
		e, err := NewRSEncoder(lib, 0, 200, 56) // k + m = 256 is GF(2^8)'s limit, still allowed
		if err != nil {
			t.Fatalf("200+56: %v", err)
		}
		checkRSEncode(t, e, r, 100)
		e.Close()
	})
	t.Run("no device", func(t *testing.T) {
		t.Setenv("ZGDA_EMU_NO_DEVICE", "1")
		if _, err := NewRSEncoder(lib, 0, 4, 2); !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "no CUDA-capable device") {
			t.Fatalf("%v, want ErrNoDevice with the driver's message", err)
		}
	})
	t.Run("device out of range", func(t *testing.T) {
		if _, err := NewRSEncoder(lib, 3, 4, 2); !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "device 3") {
			t.Fatalf("%v", err)
		}
	})

	e := emuRS(t, 4, 2, 256)
	t.Run("shapes", func(t *testing.T) {
		ok := func() [][]byte { return rsShards(r, 4, 2, 100) }
		for name, c := range map[string]struct {
			shards [][]byte
			want   error
		}{
			"5 shards":       {ok()[:5], reedsolomon.ErrTooFewShards},
			"7 shards":       {append(ok(), make([]byte, 100)), reedsolomon.ErrTooFewShards},
			"empty":          {make([][]byte, 6), reedsolomon.ErrShardNoData},
			"short data":     {func() [][]byte { s := ok(); s[3] = s[3][:99]; return s }(), reedsolomon.ErrShardSize},
			"nil parity":     {func() [][]byte { s := ok(); s[5] = nil; return s }(), reedsolomon.ErrShardSize},
			"first data nil": {func() [][]byte { s := ok(); s[0] = nil; return s }(), reedsolomon.ErrShardSize},
			"short parity":   {func() [][]byte { s := ok(); s[4] = s[4][:1]; return s }(), reedsolomon.ErrShardSize},
		} {
			err := e.Encode(c.shards)
			if !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", name, err, c.want)
			}
			if kerr := klauspostNew(t, 4, 2).Encode(cloneShards(c.shards)); !errors.Is(kerr, c.want) {
				t.Errorf("%s: klauspost says %v, the test expects %v", name, kerr, c.want)
			}
		}
		d, err := e.NewDeviceShards(100)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Free()
		s := ok()
		if err := d.Upload(s[:3]); !errors.Is(err, reedsolomon.ErrTooFewShards) {
			t.Errorf("upload of 3 shards: %v", err)
		}
		if err := d.Download(rsShards(r, 2, 0, 99)); !errors.Is(err, reedsolomon.ErrShardSize) {
			t.Errorf("download into 99-byte shards: %v", err)
		}
		if _, err := e.NewDeviceShards(0); !errors.Is(err, reedsolomon.ErrShardNoData) {
			t.Errorf("0-byte device shards: %v", err)
		}
	})
	t.Run("copy fails, then recovers", func(t *testing.T) {
		t.Setenv("ZGDA_EMU_FAIL_COPY", "1")
		err := e.Encode(rsShards(r, 4, 2, 5000))
		if !errors.Is(err, ErrDevice) || !strings.Contains(err.Error(), "cudaMemcpyAsync") {
			t.Fatalf("Encode with failing copies: %v", err)
		}
		if _, err := newRSEncoder(lib, 0, 4, 2, 0); !errors.Is(err, ErrDevice) {
			t.Fatalf("open with failing copies (self-test): %v", err)
		}
		t.Setenv("ZGDA_EMU_FAIL_COPY", "0")
		checkRSEncode(t, e, r, 5000)
		checkRSDevice(t, e, r, 5000)
	})
	t.Run("closed", func(t *testing.T) {
		c := emuRS(t, 3, 1, 0)
		d, err := c.NewDeviceShards(10)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		c.Close()
		if err := c.Encode(rsShards(r, 3, 1, 10)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Encode after Close: %v", err)
		}
		if err := d.Encode(); !errors.Is(err, ErrClosed) {
			t.Fatalf("device Encode after Close: %v", err)
		}
		if _, err := c.NewDeviceShards(10); !errors.Is(err, ErrClosed) {
			t.Fatalf("NewDeviceShards after Close: %v", err)
		}
		d.Free()
		d.Free()
		if err := d.Encode(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Encode of freed device shards: %v", err)
		}
	})
	t.Run("nil lib", func(t *testing.T) {
		if _, err := NewRSEncoder(nil, 0, 4, 2); !errors.Is(err, ErrLoad) {
			t.Fatalf("%v", err)
		}
	})
}

// TestRSOldLibrary: a library built before rs.cu has the NTT's symbols but
// not the RS ones; NewRSEncoder says to rebuild.
func TestRSOldLibrary(t *testing.T) {
	src := filepath.Join(t.TempDir(), "old.cc")
	err := os.WriteFile(src, []byte(`#include <stddef.h>
extern "C" {
int zgda_cuda_version(void) { return `+strconv.Itoa(ABIVersion)+`; }
int zgda_cuda_init(int, char* info, size_t) { info[0] = 0; return 0; }
void* zgda_cuda_open(int, int*, char*, size_t) { return 0; }
void zgda_cuda_close(void*) {}
int zgda_cuda_extend_columns() { return 0; }
int zgda_cuda_extend_rows() { return 0; }
}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := LoadPath(buildSharedLib(t, "old_rs.so", src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewRSEncoder(lib, 0, 4, 2)
	if !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "no symbol zgda_rs_open") || !strings.Contains(err.Error(), "make cuda") {
		t.Fatalf("%v, want ErrLoad naming zgda_rs_open and make cuda", err)
	}
}

// TestRSDeviceCodeCompiles builds rs.cu as CUDA with clang (host side, and
// PTX for the device) where a clang is installed, as TestDeviceCodeCompiles
// does for ntt.cu.
func TestRSDeviceCodeCompiles(t *testing.T) {
	b := clangCUDA(t, "rs.cu", true)
	if !strings.Contains(string(b), ".entry _ZN15zgda_rs_kernels11k_rs_encode") {
		t.Errorf("PTX has no kernel k_rs_encode")
	}
	if strings.Contains(string(b), ".local") {
		t.Errorf("the RS kernel spills to local memory")
	}
	if !strings.Contains(string(b), "ld.global.v4.u32") && !strings.Contains(string(b), "ld.global.nc.v4.u32") {
		t.Errorf("the RS kernel does not load 16 bytes at a time")
	}
}

// BenchmarkRSEncode: parity of one record (data bytes/s) for the 10+4
// layout bench rs measures: the CUDA encoder with host transfers, the
// kernel alone on device-resident shards, and klauspost on the CPU.
func BenchmarkRSEncode(b *testing.B) {
	const k, m = 10, 4
	for _, size := range []struct {
		name  string
		bytes int
	}{{"128KiB", 128 << 10}, {"1MiB", 1 << 20}, {"32MiB", 32 << 20}} {
		n := (size.bytes + k - 1) / k
		shards := rsShards(rand.New(rand.NewPCG(uint64(size.bytes), 18)), k, m, n)
		for _, backend := range []string{"cuda", "cuda-resident", "klauspost"} {
			b.Run(size.name+"/"+backend, func(b *testing.B) {
				encode := klauspostNew(b, k, m).Encode
				if backend != "klauspost" {
					e := deviceRS(b, k, m)
					encode = e.Encode
					if backend == "cuda-resident" {
						d, err := e.NewDeviceShards(n)
						if err != nil {
							b.Fatal(err)
						}
						defer d.Free()
						if err := d.Upload(shards[:k]); err != nil {
							b.Fatal(err)
						}
						encode = func([][]byte) error { return d.Encode() }
					}
				}
				b.SetBytes(int64(k * n))
				b.ReportAllocs()
				for b.Loop() {
					if err := encode(shards); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
