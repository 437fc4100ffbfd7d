package da

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func testCertificate(t testing.TB, n int) *Certificate {
	t.Helper()
	c := &Certificate{Epoch: 7, Quorum: 2, Signers: NewBitmap(0, 3, 9)}
	for i, k := range testKeys(n) {
		c.Blobs = append(c.Blobs, CertifiedBlob{Key: k, Rows: 1 << (i % 9)})
	}
	root, err := BatchRoot(c.Keys())
	if err != nil {
		t.Fatal(err)
	}
	c.BatchRoot = root
	for i := range c.Signature {
		c.Signature[i] = byte(i)
	}
	return c
}

func TestCertificateRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 17, MaxCertificateBlobs} {
		c := testCertificate(t, n)
		if n == MaxCertificateBlobs {
			for i := range c.Blobs {
				c.Blobs[i].Key[30] = byte(i)
				c.Blobs[i].Key[31] = byte(i >> 8)
			}
			c.BatchRoot, _ = BatchRoot(c.Keys())
			c.Signers = make(Bitmap, MaxSignerBitmapBytes)
			c.Signers[len(c.Signers)-1] = 0x80
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != c.EncodedSize() || len(b) > MaxCertificateSize {
			t.Fatalf("n=%d: %d bytes, EncodedSize %d, max %d", n, len(b), c.EncodedSize(), MaxCertificateSize)
		}
		var d Certificate
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		b2, _ := d.MarshalBinary()
		if !bytes.Equal(b, b2) {
			t.Fatalf("n=%d: re-encoding differs", n)
		}
	}
	c := testCertificate(t, 3)
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var d Certificate
	if err := json.Unmarshal(j, &d); err != nil {
		t.Fatal(err)
	}
	b1, _ := c.MarshalBinary()
	b2, _ := d.MarshalBinary()
	if !bytes.Equal(b1, b2) {
		t.Fatalf("JSON round trip differs: %s", j)
	}
}

func TestCertificateRejects(t *testing.T) {
	good, _ := testCertificate(t, 3).MarshalBinary()
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, b := range map[string][]byte{
		"empty":            nil,
		"truncated header": good[:20],
		"truncated blobs":  good[:certHeaderSize+40],
		"truncated sig":    good[:len(good)-1],
		"trailing byte":    append(append([]byte(nil), good...), 0),
		"version 2":        mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"zero blobs":       mutate(func(b []byte) []byte { b[45], b[46] = 0, 0; return b }),
		"K = 3":            mutate(func(b []byte) []byte { b[certHeaderSize+35] = 3; return b }),
		"K = 0":            mutate(func(b []byte) []byte { b[certHeaderSize+35] = 0; return b }),
		"K = 512":          mutate(func(b []byte) []byte { b[certHeaderSize+34], b[certHeaderSize+35] = 2, 0; return b }),
		"oversized":        make([]byte, MaxCertificateSize+1),
	} {
		var c Certificate
		err := c.UnmarshalBinary(b)
		if !errors.Is(err, ErrCertificate) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// A bitmap with a trailing zero byte, and an empty one.
	c := testCertificate(t, 1)
	c.Signers = Bitmap{1, 0}
	if _, err := c.MarshalBinary(); !errors.Is(err, ErrCertificate) {
		t.Errorf("non-canonical bitmap encoded: %v", err)
	}
	c.Signers = nil
	if _, err := c.MarshalBinary(); !errors.Is(err, ErrCertificate) {
		t.Errorf("empty bitmap encoded: %v", err)
	}
	// Validate: wrong root and a repeated key.
	c = testCertificate(t, 2)
	c.BatchRoot[0] ^= 1
	if err := c.Validate(); !errors.Is(err, ErrCertificate) {
		t.Errorf("wrong batch root: %v", err)
	}
	c = testCertificate(t, 2)
	c.Blobs[1].Key = c.Blobs[0].Key
	c.BatchRoot, _ = BatchRoot(c.Keys())
	if err := c.Validate(); !errors.Is(err, ErrCertificate) {
		t.Errorf("repeated key: %v", err)
	}
}

func TestBitmap(t *testing.T) {
	b := NewBitmap(0, 9, 3, 9, 70)
	if b.Count() != 4 || !b.Has(70) || b.Has(71) || b.Has(1000) || len(b) != 9 {
		t.Fatalf("bitmap %s", b)
	}
	if got := b.Indices(); len(got) != 4 || got[0] != 0 || got[1] != 3 || got[2] != 9 || got[3] != 70 {
		t.Fatalf("indices %v", got)
	}
	if NewBitmap(0).String() != "0x01" || NewBitmap(8).String() != "0x0001" {
		t.Fatal("bit order is least significant first")
	}
}

func FuzzCertificateCodec(f *testing.F) {
	for _, n := range []int{1, 2, 5} {
		b, _ := testCertificate(f, n).MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Certificate
		if err := c.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrCertificate) {
				t.Fatalf("error not marked ErrCertificate: %v", err)
			}
			return
		}
		out, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded certificate does not encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("encoding is not canonical")
		}
		_ = c.Validate()
	})
}
