package encoder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

func TestDirRoundTripAndDamage(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	e := blobEncoder(t)
	tb := encodeSizes(t, e, rng, 5000, encoder.BytesPerRow+9) // D = 3, N = 12
	b := tb.b
	dir := t.TempDir()
	if err := encoder.WriteDir(dir, b); err != nil {
		t.Fatal(err)
	}
	got, err := encoder.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Root() != b.Root || got.Manifest.D != 3 || got.Manifest.K != 4 || got.Manifest.N != 12 || len(got.Rows) != 12 {
		t.Fatalf("manifest %+v, %d rows", got.Manifest, len(got.Rows))
	}
	// Truncate row 0, make row 1 non-canonical, delete rows 2..8, tamper
	// with row 10 (a valid file): rows 9, 10, 11 remain, one of them bad.
	os.WriteFile(filepath.Join(dir, encoder.RowFileName(0)), make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(dir, encoder.RowFileName(1)), bytes.Repeat([]byte{0xff}, 4096*32), 0o644)
	for n := 2; n <= 8; n++ {
		os.Remove(filepath.Join(dir, encoder.RowFileName(n)))
	}
	raw, _ := os.ReadFile(filepath.Join(dir, encoder.RowFileName(10)))
	raw[77] ^= 1
	os.WriteFile(filepath.Join(dir, encoder.RowFileName(10)), raw, 0o644)
	got, err = encoder.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 3 || got.Rows[9] == nil || len(got.Damaged) != 2 || got.Damaged[0] == nil || got.Damaged[1] == nil {
		t.Fatalf("rows %d, damaged %v", len(got.Rows), got.Damaged)
	}
	back, rejected, err := e.DecodeBatch(context.Background(), kzg.Default(), &got.Header, got.Rows, nil)
	if err == nil || len(rejected) != 1 || rejected[0] != 10 {
		t.Fatalf("decode from 2 good rows: %v, rejected %v", err, rejected)
	}
	os.WriteFile(filepath.Join(dir, encoder.RowFileName(5)), encodeRow(b, 5), 0o644)
	got, _ = encoder.ReadDir(dir)
	back, rejected, err = e.DecodeBatch(context.Background(), kzg.Default(), &got.Header, got.Rows, nil)
	if err != nil || len(rejected) != 1 || len(back) != 3 {
		t.Fatalf("decode from 3 good rows: %v, rejected %v", err, rejected)
	}
	for i := range tb.raw {
		blob, _, err := e.DecodeBlob(context.Background(), kzg.Default(), &got.Header, i, got.Rows, nil)
		if err != nil || !bytes.Equal(blob, tb.raw[i]) {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
	if _, err := encoder.ReadDir(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("missing directory accepted")
	}
}

func encodeRow(b *encoder.Batch, n int) []byte {
	var out []byte
	for i := range b.Rows[n] {
		v := b.Rows[n][i].Bytes()
		out = append(out, v[:]...)
	}
	return out
}

// TestReadDirRejectsBadManifests: every field of the manifest is checked.
func TestReadDirRejectsBadManifests(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	b := encodeSizes(t, blobEncoder(t), rng, 10, 20).b
	dir := t.TempDir()
	if err := encoder.WriteDir(dir, b); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(m *encoder.Manifest){
		"codec v1":     func(m *encoder.Manifest) { m.Codec = "zgda/v1" },
		"wrong root":   func(m *encoder.Manifest) { m.BatchRoot = b.Blobs[0].Key.String() },
		"wrong d":      func(m *encoder.Manifest) { m.D = 3 },
		"wrong k":      func(m *encoder.Manifest) { m.K = 4 },
		"wrong n":      func(m *encoder.Manifest) { m.N = 4 },
		"wrong length": func(m *encoder.Manifest) { m.Blobs[0].Length = 11 },
		"wrong rows":   func(m *encoder.Manifest) { m.Blobs[0].Rows = 2 },
		"swapped":      func(m *encoder.Manifest) { m.Blobs[0], m.Blobs[1] = m.Blobs[1], m.Blobs[0] },
		"duplicate":    func(m *encoder.Manifest) { m.Blobs[1] = m.Blobs[0] },
		"no blobs":     func(m *encoder.Manifest) { m.Blobs = nil },
		"bad point":    func(m *encoder.Manifest) { m.Blobs[0].Commitments[0][5] ^= 1 },
		"extra commitmnt": func(m *encoder.Manifest) {
			m.Blobs[0].Commitments = append(m.Blobs[0].Commitments, kzg.Commitment{0xc0})
		},
		"bad key": func(m *encoder.Manifest) { m.Blobs[0].BlobKey = "0x12" },
	} {
		t.Run(name, func(t *testing.T) {
			var m encoder.Manifest
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			mutate(&m)
			js, _ := json.Marshal(m)
			os.WriteFile(filepath.Join(dir, "manifest.json"), js, 0o644)
			if _, err := encoder.ReadDir(dir); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// FuzzReadDirManifest feeds arbitrary bytes as manifest.json: ReadDir must
// return an error or a manifest whose header checks and hashes to its root,
// never panic.
func FuzzReadDirManifest(f *testing.F) {
	f.Add([]byte(`{"codec":"zgda/v2","batch_root":"0x00","d":1,"k":1,"n":4,"blobs":[{"blob_key":"0x00","length":1,"rows":1,"commitments":[]}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"codec":"zgda/v2","blobs":[{"length":-5}]}`))
	f.Fuzz(func(t *testing.T, manifest []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := encoder.ReadDir(dir)
		if err != nil {
			return
		}
		if err := got.Header.Check(); err != nil || got.Header.Root().String() != got.Manifest.BatchRoot {
			t.Fatalf("accepted a manifest whose header does not check: %v", err)
		}
	})
}
