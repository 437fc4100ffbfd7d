package da

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// testCertificate is a valid certificate of n blobs (R_i = 1 + i mod 3 while
// that fits D ≤ 256, one row each otherwise) with its right batch root.
func testCertificate(t testing.TB, n int) *Certificate {
	t.Helper()
	c := &Certificate{Epoch: 7, Quorum: 2, Signers: NewBitmap(0, 3, 9)}
	for i, k := range testKeys(n) {
		r := uint32(1)
		if 3*n <= MaxBatchRows {
			r = uint32(1 + i%3)
		}
		c.Blobs = append(c.Blobs, CertifiedBlob{Key: k, Rows: r})
	}
	root, err := BatchRoot(c.Blobs)
	if err != nil {
		t.Fatal(err)
	}
	c.BatchRoot = root
	for i := range c.Signature {
		c.Signature[i] = byte(i)
	}
	return c
}

// certByHand is the binary form of spec §4.4, written out without any check.
func certByHand(version byte, c *Certificate) []byte {
	var b bytes.Buffer
	b.WriteByte(version)
	b.Write(c.BatchRoot[:])
	binary.Write(&b, binary.BigEndian, c.Epoch)
	binary.Write(&b, binary.BigEndian, c.Quorum)
	binary.Write(&b, binary.BigEndian, uint16(len(c.Blobs)))
	for _, bl := range c.Blobs {
		b.Write(bl.Key[:])
		binary.Write(&b, binary.BigEndian, bl.Rows)
	}
	binary.Write(&b, binary.BigEndian, uint16(len(c.Signers)))
	b.Write(c.Signers)
	b.Write(c.Signature[:])
	return b.Bytes()
}

func TestCertificateRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 17, 85, 86, MaxCertificateBlobs} {
		c := testCertificate(t, n)
		if n == MaxCertificateBlobs {
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
		if !bytes.Equal(b, certByHand(2, c)) {
			t.Fatalf("n=%d: encoding is not spec §4.4's", n)
		}
		if len(b) != c.EncodedSize() || len(b) != 47+36*n+2+len(c.Signers)+96 || len(b) > MaxCertificateSize {
			t.Fatalf("n=%d: %d bytes, EncodedSize %d, max %d", n, len(b), c.EncodedSize(), MaxCertificateSize)
		}
		if n == MaxCertificateBlobs && (len(b) != MaxCertificateSize || MaxCertificateSize != 17553) {
			t.Fatalf("the largest certificate is %d bytes, limit %d, spec 17,553", len(b), MaxCertificateSize)
		}
		var d Certificate
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if d.BatchRoot != c.BatchRoot || d.Epoch != 7 || d.Quorum != 2 || len(d.Blobs) != n || d.Blobs[n-1] != c.Blobs[n-1] ||
			!bytes.Equal(d.Signers, c.Signers) || d.Signature != c.Signature {
			t.Fatalf("n=%d: decoded %+v", n, d)
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("n=%d: decoded certificate: %v", n, err)
		}
		b2, _ := d.MarshalBinary()
		if !bytes.Equal(b, b2) {
			t.Fatalf("n=%d: re-encoding differs", n)
		}
		// The decoder copies: changing the input leaves d alone.
		b[len(b)-SignatureSize-1] ^= 0xff
		if d.Signers[len(d.Signers)-1] != c.Signers[len(c.Signers)-1] {
			t.Fatalf("n=%d: the decoded bitmap aliases the input", n)
		}
	}
	// JSON, in spec §4.4's field names.
	c := testCertificate(t, 3)
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"batch_root":"0x`, `"epoch":7`, `"quorum":2`, `"blobs":[{"key":"0x`, `"rows":2}`, `"signers":"0x0902"`, `"signature":"0x0001`} {
		if !strings.Contains(string(j), want) {
			t.Errorf("JSON %s lacks %s", j, want)
		}
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

func TestCertificateAccessors(t *testing.T) {
	c := &Certificate{Epoch: 5, Quorum: 3, BatchRoot: Hash{9}, Signers: NewBitmap(1)}
	keys := testKeys(4)
	for i, r := range []uint32{3, 1, 5, 2} {
		c.Blobs = append(c.Blobs, CertifiedBlob{Key: keys[i], Rows: r})
	}
	if c.DataRows() != 11 || c.DispersedRows() != 44 {
		t.Fatalf("D = %d, N = %d", c.DataRows(), c.DispersedRows())
	}
	if got := c.Keys(); len(got) != 4 || got[2] != keys[2] {
		t.Fatalf("keys %v", got)
	}
	for i, off := range []int{0, 3, 4, 9} {
		idx, o, ok := c.Locate(keys[i])
		if !ok || idx != i || o != off {
			t.Errorf("Locate(blob %d) = (%d, %d, %v), want (%d, %d, true)", i, idx, o, ok, i, off)
		}
	}
	if idx, o, ok := c.Locate(BlobKey{7}); ok || idx != 0 || o != 0 {
		t.Errorf("Locate(unknown) = (%d, %d, %v)", idx, o, ok)
	}
	if !bytes.Equal(c.Message("zgda-test"), AttestationMessage("zgda-test", 5, 3, Hash{9})) {
		t.Error("Message is not the attestation message of (epoch, quorum, root)")
	}
	want := append([]byte("zgda/v2/attest"+"chain"), 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 3, 9)
	want = append(want, make([]byte, 31)...)
	if !bytes.Equal(c.Message("chain"), want) {
		t.Errorf("attestation message %x, want %x", c.Message("chain"), want)
	}
}

func TestCertificateRejects(t *testing.T) {
	base := testCertificate(t, 3)
	good, _ := base.MarshalBinary()
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	// Offsets: header 47 bytes, blob i at 47 + 36i (R at +32), then the
	// bitmap length.
	blobR := func(i int) int { return certHeaderSize + certBlobSize*i + 32 }
	bitmapLen := certHeaderSize + 3*certBlobSize
	variant := func(f func(c *Certificate)) []byte {
		c := testCertificate(t, 3)
		f(c)
		return certByHand(CertificateVersion, c)
	}
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"empty":             {nil, "truncated header"},
		"truncated header":  {good[:20], "truncated header"},
		"truncated blobs":   {good[:certHeaderSize+40], "truncated blob list"},
		"truncated sig":     {good[:len(good)-1], "after the signer bitmap length"},
		"trailing byte":     {append(append([]byte(nil), good...), 0), "after the signer bitmap length"},
		"version 1":         {mutate(func(b []byte) { b[0] = 1 }), "version 1"},
		"version 3":         {mutate(func(b []byte) { b[0] = 3 }), "version 3"},
		"zero blobs":        {mutate(func(b []byte) { b[45], b[46] = 0, 0 }), "0 blobs"},
		"257 blobs":         {append(mutate(func(b []byte) { binary.BigEndian.PutUint16(b[45:], 257) }), make([]byte, 257*36)...), "257 blobs"},
		"count too high":    {mutate(func(b []byte) { b[46] = 4 }), ""},
		"R = 0":             {mutate(func(b []byte) { binary.BigEndian.PutUint32(b[blobR(1):], 0) }), "0 rows"},
		"R = 257":           {mutate(func(b []byte) { binary.BigEndian.PutUint32(b[blobR(1):], 257) }), "257 rows"},
		"R = 2^32−1":        {mutate(func(b []byte) { binary.BigEndian.PutUint32(b[blobR(2):], 0xffffffff) }), "4294967295 rows"},
		"D = 257":           {variant(func(c *Certificate) { c.Blobs[0].Rows, c.Blobs[1].Rows, c.Blobs[2].Rows = 200, 56, 1 }), "257 data rows"},
		"D = 768":           {variant(func(c *Certificate) { c.Blobs[0].Rows, c.Blobs[1].Rows, c.Blobs[2].Rows = 256, 256, 256 }), "768 data rows"},
		"zero key":          {variant(func(c *Certificate) { c.Blobs[2].Key = BlobKey{} }), "zero key"},
		"duplicate key":     {variant(func(c *Certificate) { c.Blobs[2].Key = c.Blobs[0].Key }), "appears twice"},
		"empty bitmap":      {variant(func(c *Certificate) { c.Signers = nil }), "signer bitmap of 0 bytes"},
		"trailing zero":     {variant(func(c *Certificate) { c.Signers = Bitmap{1, 0} }), "trailing zero byte"},
		"all-zero bitmap":   {variant(func(c *Certificate) { c.Signers = Bitmap{0} }), "trailing zero byte"},
		"bitmap too long":   {variant(func(c *Certificate) { c.Signers = append(make(Bitmap, MaxSignerBitmapBytes), 1) }), "8193 bytes"},
		"bitmap length +1":  {mutate(func(b []byte) { b[bitmapLen+1]++ }), "after the signer bitmap length"},
		"bitmap length −1":  {mutate(func(b []byte) { b[bitmapLen+1]-- }), "after the signer bitmap length"},
		"oversized":         {make([]byte, MaxCertificateSize+1), "more than the 17553 allowed"},
		"oversized, valid+": {append(append([]byte(nil), good...), make([]byte, MaxCertificateSize)...), "more than"},
	}
	for name, c := range cases {
		var d Certificate
		err := d.UnmarshalBinary(c.b)
		if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrCertificate saying %q", name, err, c.want)
		}
	}
	// D = 256 exactly is fine.
	ok := variant(func(c *Certificate) {
		c.Blobs[0].Rows, c.Blobs[1].Rows, c.Blobs[2].Rows = 200, 55, 1
		c.BatchRoot, _ = BatchRoot(c.Blobs)
	})
	var d Certificate
	if err := d.UnmarshalBinary(ok); err != nil || d.Validate() != nil {
		t.Errorf("D = 256: %v", err)
	}
	// The encoder refuses what the decoder would.
	for name, f := range map[string]func(c *Certificate){
		"no blobs":        func(c *Certificate) { c.Blobs = nil },
		"257 blobs":       func(c *Certificate) { c.Blobs = testCertificate(t, 257).Blobs },
		"R = 0":           func(c *Certificate) { c.Blobs[0].Rows = 0 },
		"R = 257":         func(c *Certificate) { c.Blobs[0].Rows = 257 },
		"D = 257":         func(c *Certificate) { c.Blobs[0].Rows, c.Blobs[1].Rows = 200, 56 },
		"zero key":        func(c *Certificate) { c.Blobs[1].Key = BlobKey{} },
		"duplicate key":   func(c *Certificate) { c.Blobs[1].Key = c.Blobs[2].Key },
		"empty bitmap":    func(c *Certificate) { c.Signers = Bitmap{} },
		"trailing zero":   func(c *Certificate) { c.Signers = Bitmap{1, 0} },
		"bitmap too long": func(c *Certificate) { c.Signers = append(make(Bitmap, MaxSignerBitmapBytes), 1) },
	} {
		c := testCertificate(t, 3)
		f(c)
		if _, err := c.MarshalBinary(); !errors.Is(err, ErrCertificate) {
			t.Errorf("MarshalBinary %s: %v", name, err)
		}
		if err := c.Validate(); !errors.Is(err, ErrCertificate) {
			t.Errorf("Validate %s: %v", name, err)
		}
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("the mutations changed the original: %v", err)
	}
}

// Validate ties the root to the (key, R) list: a changed root, one R changed
// (same keys), the order changed or a blob dropped all fail.
func TestCertificateValidate(t *testing.T) {
	for name, f := range map[string]func(c *Certificate){
		"root bit flipped":          func(c *Certificate) { c.BatchRoot[0] ^= 1 },
		"one R changed, same keys":  func(c *Certificate) { c.Blobs[1].Rows++ },
		"last R changed, same keys": func(c *Certificate) { c.Blobs[4].Rows-- },
		"two blobs swapped":         func(c *Certificate) { c.Blobs[0], c.Blobs[1] = c.Blobs[1], c.Blobs[0] },
		"Rs swapped":                func(c *Certificate) { c.Blobs[0].Rows, c.Blobs[1].Rows = c.Blobs[1].Rows, c.Blobs[0].Rows },
		"a blob dropped":            func(c *Certificate) { c.Blobs = c.Blobs[:4] },
		"a blob added":              func(c *Certificate) { c.Blobs = append(c.Blobs, CertifiedBlob{Key: BlobKey{1}, Rows: 1}) },
		"a key changed":             func(c *Certificate) { c.Blobs[3].Key[31] ^= 1 },
	} {
		c := testCertificate(t, 5)
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		f(c)
		err := c.Validate()
		if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "is not the root") {
			t.Errorf("%s: %v", name, err)
		}
		// The codec does not check the root: it still round-trips.
		b, err := c.MarshalBinary()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var d Certificate
		if err := d.UnmarshalBinary(b); err != nil {
			t.Errorf("%s: decode: %v", name, err)
		}
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
	if NewBitmap(0).String() != "0x01" || NewBitmap(8).String() != "0x0001" || NewBitmap(7, 15).String() != "0x8080" {
		t.Fatal("bit order is least significant first")
	}
	if b := NewBitmap(65535); len(b) != MaxSignerBitmapBytes || b[8191] != 0x80 || !b.Has(65535) || b.Count() != 1 {
		t.Fatal("signer 65535 is the top bit of byte 8191")
	}
	if NewBitmap().Count() != 0 || len(NewBitmap()) != 0 || len(NewBitmap().Indices()) != 0 {
		t.Fatal("empty bitmap")
	}
	if Bitmap(nil).Has(0) || Bitmap(nil).Has(^uint32(0)) || NewBitmap(1).Has(^uint32(0)) {
		t.Fatal("Has beyond the bitmap")
	}
	txt, _ := b.MarshalText()
	var g Bitmap
	if err := g.UnmarshalText(txt); err != nil || !bytes.Equal(g, b) {
		t.Fatalf("text round trip: %v %s", err, g)
	}
	for _, s := range []string{"", "0", "01", "0x0", "0xzz"} {
		if err := g.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("bitmap text %q accepted", s)
		}
	}
}

func TestKeyTypesText(t *testing.T) {
	var pk PublicKey
	var sig Signature
	for i := range pk {
		pk[i] = byte(i)
	}
	for i := range sig {
		sig[i] = byte(255 - i)
	}
	tp, _ := pk.MarshalText()
	ts, _ := sig.MarshalText()
	var pk2 PublicKey
	var sig2 Signature
	if pk2.UnmarshalText(tp) != nil || pk2 != pk || sig2.UnmarshalText(ts) != nil || sig2 != sig {
		t.Fatal("round trip")
	}
	if pk2.UnmarshalText(ts) == nil || sig2.UnmarshalText(tp) == nil {
		t.Fatal("a key of the wrong size is accepted")
	}
}

func FuzzCertificateCodec(f *testing.F) {
	for _, n := range []int{1, 2, 5, 86} {
		b, _ := testCertificate(f, n).MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{CertificateVersion})
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
		if d := c.DataRows(); d < 1 || d > MaxBatchRows {
			t.Fatalf("decoded D = %d", d)
		}
		if err := c.Validate(); err != nil && !errors.Is(err, ErrCertificate) {
			t.Fatalf("Validate: %v", err)
		}
	})
}
