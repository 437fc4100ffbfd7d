package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncodeDecodeBatch: several files are one batch, in argument order;
// decode writes them back as blob-NNN.bin from any D rows and names a
// corrupted row.
func TestEncodeDecodeBatch(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	var files []string
	var blobs [][]byte
	for i, n := range []int{1, 130_000, 5} { // R = 1, 2, 1: D = 4, K = 4, N = 16
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		f := filepath.Join(dir, string(rune('a'+i)))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files, blobs = append(files, f), append(blobs, b)
	}
	enc := filepath.Join(dir, "enc")
	out, err := run(t, append([]string{"encode"}, append(files, "--out", enc, "-q", "--device", "cpu")...)...)
	if err != nil || !strings.Contains(out, "wrote 16 rows (D=4, K=4") {
		t.Fatalf("encode: %v\n%s", err, out)
	}
	// Keep rows 3, 9, 12, 13, 15, corrupt 12: four good rows remain.
	for n := 0; n < 16; n++ {
		if n != 3 && n != 9 && n != 12 && n != 13 && n != 15 {
			os.Remove(filepath.Join(enc, "row-00"+twoDigits(n)+".bin"))
		}
	}
	row := filepath.Join(enc, "row-0012.bin")
	raw, _ := os.ReadFile(row)
	raw[100] ^= 1
	os.WriteFile(row, raw, 0o644)
	back := filepath.Join(dir, "back")
	out, err = run(t, "decode", enc, "--out", back, "-q", "--device", "cpu")
	if err != nil || !strings.Contains(out, "row-0012.bin does not match its commitment") {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	for i, want := range blobs {
		got, err := os.ReadFile(filepath.Join(back, "blob-00"+string(rune('0'+i))+".bin"))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("blob %d: %v (bytes equal %v)", i, err, bytes.Equal(got, want))
		}
	}
	// A file as --out for a batch of three is refused.
	if _, err := run(t, "decode", enc, "--out", files[0], "-q", "--device", "cpu"); err == nil || !strings.Contains(err.Error(), "give a directory") {
		t.Fatalf("decode into a file: %v", err)
	}
	// The same file twice is not a batch.
	if _, err := run(t, "encode", files[0], files[0], "--out", filepath.Join(dir, "e2"), "-q", "--device", "cpu"); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("encode of a repeated file: %v", err)
	}
}

func twoDigits(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }
