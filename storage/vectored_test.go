package storage

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteVecAt: more buffers than one pwritev takes, of mixed sizes
// (empty ones too), land one after another at the offset given.
func TestWriteVecAt(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "seg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var bufs [][]byte
	var want []byte
	for i := 0; i < 3*maxIOV+7; i++ {
		b := make([]byte, rng.IntN(300))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	const off = 12345
	if err := (osFile{f}).WriteVecAt(bufs, off); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := f.ReadAt(got, off); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes read back differ from the buffers written")
	}
}

// TestAdvanceBufs: a short write resumes at the first byte not written,
// inside a buffer or at a boundary.
func TestAdvanceBufs(t *testing.T) {
	bufs := [][]byte{[]byte("abc"), {}, []byte("de"), []byte("fghi")}
	for n := 0; n <= 9; n++ {
		got := bytes.Join(advanceBufs(bufs, n), nil)
		if want := "abcdefghi"[n:]; string(got) != want {
			t.Errorf("advanceBufs(%d) = %q, want %q", n, got, want)
		}
	}
	if string(bufs[0]) != "abc" {
		t.Error("advanceBufs changed its argument")
	}
}
