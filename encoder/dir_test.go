package encoder_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

func TestDirRoundTripAndDamage(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	blob := blobBytes(rng, 5000)
	e := blobEncoder(t)
	enc, err := e.EncodeBlob(context.Background(), kzg.Default(), blob, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := encoder.WriteDir(dir, enc); err != nil {
		t.Fatal(err)
	}
	// Truncate row 0, make row 1 non-canonical, delete row 2: row 3 remains.
	os.WriteFile(filepath.Join(dir, encoder.RowFileName(0)), make([]byte, 100), 0o644)
	ff := make([]byte, 4096*32)
	for i := range ff {
		ff[i] = 0xff
	}
	os.WriteFile(filepath.Join(dir, encoder.RowFileName(1)), ff, 0o644)
	os.Remove(filepath.Join(dir, encoder.RowFileName(2)))
	got, err := encoder.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 1 || got.Rows[3] == nil || len(got.Damaged) != 2 || got.Damaged[0] == nil || got.Damaged[1] == nil {
		t.Fatalf("rows %d, damaged %v", len(got.Rows), got.Damaged)
	}
	back, _, err := e.DecodeBlob(context.Background(), kzg.Default(), got.Manifest.Length, got.Data, got.Rows, nil)
	if err != nil || string(back) != string(blob) {
		t.Fatalf("decode from row 3 alone: %v", err)
	}
	if _, err := encoder.ReadDir(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("missing directory accepted")
	}
}

// FuzzReadDirManifest feeds arbitrary bytes as manifest.json: ReadDir must
// return an error or a manifest that is consistent with its blob key, never
// panic.
func FuzzReadDirManifest(f *testing.F) {
	f.Add([]byte(`{"codec":"zgda/v1","blob_key":"0x00","length":1,"rows":1,"extended_rows":4,"commitments":[]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"codec":"zgda/v1","length":-5}`))
	f.Fuzz(func(t *testing.T, manifest []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := encoder.ReadDir(dir)
		if err != nil {
			return
		}
		if encoder.BlobKey(got.Manifest.Length, got.Data).String() != got.Manifest.BlobKey {
			t.Fatal("accepted a manifest whose key does not match")
		}
	})
}
