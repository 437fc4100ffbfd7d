package da

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func testKeys(n int) []BlobKey {
	keys := make([]BlobKey, n)
	for i := range keys {
		for j := range keys[i] {
			keys[i][j] = byte(i + 1)
		}
	}
	return keys
}

// Vectors from an independent Python implementation of DESIGN.md §4.
func TestBatchRootKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		n    int
		root string
	}{
		{1, "dcffe786ded16d283c663846ad0c4ff26558fccde36ca9d30b2ea19eade9fc0e"},
		{2, "3a066e0f40c6a1981ebfa60d2411625d0517ae22c2fc8c7c1784ff8a75c78565"},
		{3, "34e71d7d0114a253d833504e41de2685e95d96efdba5a3d1eae8ed0cd626a69a"},
		{5, "b80f7502dcf8c862365745688992c693f515c95eec3b0972205ad1144cd328e2"},
	} {
		got, err := BatchRoot(testKeys(tc.n))
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got[:]) != tc.root {
			t.Errorf("n=%d: root %x, want %s", tc.n, got, tc.root)
		}
	}
	if _, err := BatchRoot(nil); err == nil {
		t.Error("empty batch has a root")
	}
}

func TestBatchRootByHand(t *testing.T) {
	k := testKeys(3)
	want := NodeHash(NodeHash(LeafHash(k[0]), LeafHash(k[1])), NodeHash(LeafHash(k[2]), LeafHash(BlobKey{})))
	if got, _ := BatchRoot(k); got != want {
		t.Fatalf("3 keys: %s, want %s", got, want)
	}
	if got, _ := BatchRoot(k[:1]); got != LeafHash(k[0]) {
		t.Fatalf("1 key: root is not the leaf")
	}
}

func TestMerkleProofs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 40; n++ {
		keys := make([]BlobKey, n)
		for i := range keys {
			for j := range keys[i] {
				keys[i][j] = byte(rng.Uint32())
			}
		}
		root, err := BatchRoot(keys)
		if err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			proof, err := MerkleProof(keys, i)
			if err != nil {
				t.Fatal(err)
			}
			if !VerifyMerkleProof(root, keys[i], uint64(i), proof) {
				t.Fatalf("n=%d i=%d: proof does not verify", n, i)
			}
			if VerifyMerkleProof(root, keys[(i+1)%n], uint64(i), proof) && n > 1 {
				t.Fatalf("n=%d i=%d: proof verifies another key", n, i)
			}
			if len(proof) > 0 {
				if VerifyMerkleProof(root, keys[i], uint64(i)^1, proof) {
					t.Fatalf("n=%d i=%d: proof verifies at the wrong index", n, i)
				}
				bad := append([]Hash(nil), proof...)
				bad[len(bad)-1][0] ^= 1
				if VerifyMerkleProof(root, keys[i], uint64(i), bad) {
					t.Fatalf("n=%d i=%d: tampered proof verifies", n, i)
				}
				if VerifyMerkleProof(root, keys[i], uint64(i)+1<<uint(len(proof)), proof) {
					t.Fatalf("n=%d i=%d: index beyond the depth verifies", n, i)
				}
			}
		}
	}
	if _, err := MerkleProof(testKeys(2), 2); err == nil {
		t.Error("out-of-range index accepted")
	}
}

func TestHashText(t *testing.T) {
	h := LeafHash(BlobKey{1})
	b, _ := h.MarshalText()
	var g Hash
	if err := g.UnmarshalText(b); err != nil || g != h {
		t.Fatalf("round trip: %v %s", err, g)
	}
	for _, s := range []string{"", "0x", h.String()[2:], h.String() + "00", "0x" + string(bytes.Repeat([]byte("z"), 64))} {
		if _, err := ParseHash(s); err == nil {
			t.Errorf("accepted %q", s)
		}
	}
}

func BenchmarkBatchRoot(b *testing.B) {
	keys := testKeys(1024)
	b.SetBytes(int64(len(keys) * 32))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BatchRoot(keys); err != nil {
			b.Fatal(err)
		}
	}
}
