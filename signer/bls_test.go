package signer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/zgda/zgda/da"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Vectors of the Ethereum consensus specs' BLS tests, which use the same
// proof-of-possession ciphersuite (sign_case_*, and the spec's key constants).
func TestSignKnownAnswers(t *testing.T) {
	for _, tc := range []struct{ sk, pk, msg, sig string }{
		{
			sk:  "263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3",
			pk:  "a491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20fd6e10c1b77654d067c0618f6e5a7f79a",
			msg: strings.Repeat("00", 32),
			sig: "b6ed936746e01f8ecf281f020953fbf1f01debd5657c4a383940b020b26507f6076334f91e2366c96e9ab279fb5158090352ea1c5b0c9274504f4f0e7053af24802e51e4568d164fe986834f41e55c8e850ce1f98458c0cfc9ab380b55285a55",
		},
		{
			sk:  "328388aff0d4a5b7dc9205abd374e7e98f3cd9f3418edb4eafda5fb16473d216",
			msg: strings.Repeat("56", 32),
			sig: "a4efa926610b8bd1c8330c918b7a5e9bf374e53435ef8b7ec186abf62e1b1f65aeaaeb365677ac1d1172a1f5b44b4e6d022c252c58486c0a759fbdc7de15a756acc4d343064035667a594b4c2a6f0b0b421975977f297dba63ee2f63ffe47bb6",
		},
		{
			sk:  "47b8192d77bf871b62e87859d653922725724a5c031afeabc60bcef5ff665138",
			pk:  "b301803f8b5ac4a1133581fc676dfedc60d891dd5fa99028805e5ea5b08d3491af75d0707adab3b70c6a6a580217bf81",
			msg: strings.Repeat("56", 32),
			sig: "af1390c3c47acdb37131a51216da683c509fce0e954328a59f93aebda7e4ff974ba208d9a4a2a2389f892a9d418d618418dd7f7a6bc7aa0da999a9d3a5b815bc085e14fd001f6a1948768a3f4afefc8b8240dda329f984cb345c6363272ba4fe",
		},
	} {
		k, err := ParseSecretKey(mustHex(t, tc.sk))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Bytes(), mustHex(t, tc.sk)) {
			t.Errorf("secret key round trip")
		}
		pkb := k.PublicKey().Bytes()
		if tc.pk != "" && hex.EncodeToString(pkb[:]) != tc.pk {
			t.Errorf("sk %s…: pk %s", tc.sk[:8], k.PublicKey())
		}
		sig := k.Sign(mustHex(t, tc.msg)).Bytes()
		if hex.EncodeToString(sig[:]) != tc.sig {
			t.Errorf("sk %s…: sig %x", tc.sk[:8], sig)
		}
		parsed, err := ParseSignature(mustHex(t, tc.sig))
		if err != nil {
			t.Fatal(err)
		}
		if !k.PublicKey().Verify(mustHex(t, tc.msg), parsed) {
			t.Errorf("sk %s…: known signature does not verify", tc.sk[:8])
		}
	}
}

func testKey(t testing.TB, i byte) *Key {
	t.Helper()
	k, err := KeyFromSeed(bytes.Repeat([]byte{i + 1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	k1, k2 := testKey(t, 1), testKey(t, 2)
	msg := []byte("hello")
	sig := k1.Sign(msg)
	if !k1.PublicKey().Verify(msg, sig) {
		t.Fatal("signature does not verify")
	}
	if k1.PublicKey().Verify([]byte("hellp"), sig) {
		t.Fatal("verifies another message")
	}
	if k2.PublicKey().Verify(msg, sig) {
		t.Fatal("verifies under another key")
	}
	// Round trips through bytes.
	pkb := k1.PublicKey().Bytes()
	pk, err := ParsePublicKey(pkb[:])
	if err != nil || !pk.Equal(k1.PublicKey()) {
		t.Fatalf("public key round trip: %v", err)
	}
	sb := sig.Bytes()
	s2, err := ParseSignature(sb[:])
	if err != nil || !pk.Verify(msg, s2) {
		t.Fatalf("signature round trip: %v", err)
	}
	k3, err := ParseSecretKey(k1.Bytes())
	if err != nil || !k3.PublicKey().Equal(k1.PublicKey()) {
		t.Fatalf("secret key round trip: %v", err)
	}
	g, err := GenerateKey(nil)
	if err != nil || g.PublicKey().Equal(k1.PublicKey()) {
		t.Fatalf("GenerateKey: %v", err)
	}
}

func TestProofOfPossession(t *testing.T) {
	k1, k2 := testKey(t, 1), testKey(t, 2)
	pop := k1.ProvePossession()
	if !k1.PublicKey().VerifyPossession(pop) {
		t.Fatal("PoP does not verify")
	}
	if k2.PublicKey().VerifyPossession(pop) {
		t.Fatal("PoP verifies for another key")
	}
	// Domain separation: a plain signature over the key bytes is no PoP, and
	// a PoP is no plain signature.
	pkb := k1.PublicKey().Bytes()
	if k1.PublicKey().VerifyPossession(k1.Sign(pkb[:])) {
		t.Fatal("a message signature passes as PoP")
	}
	if k1.PublicKey().Verify(pkb[:], pop) {
		t.Fatal("a PoP passes as a message signature")
	}
}

func TestAggregate(t *testing.T) {
	msg := []byte("zgda batch")
	var pks []*PublicKey
	var sigs []*Signature
	for i := byte(0); i < 10; i++ {
		k := testKey(t, i)
		pks = append(pks, k.PublicKey())
		sigs = append(sigs, k.Sign(msg))
	}
	agg, err := AggregateSignatures(sigs)
	if err != nil {
		t.Fatal(err)
	}
	if !FastAggregateVerify(pks, msg, agg) {
		t.Fatal("aggregate does not verify")
	}
	if FastAggregateVerify(pks[:9], msg, agg) {
		t.Fatal("aggregate verifies with a key missing")
	}
	if FastAggregateVerify(pks, []byte("other"), agg) {
		t.Fatal("aggregate verifies another message")
	}
	part, _ := AggregateSignatures(sigs[:9])
	if FastAggregateVerify(pks, msg, part) {
		t.Fatal("partial aggregate verifies for all keys")
	}
	apk, err := AggregatePublicKeys(pks)
	if err != nil || !apk.Verify(msg, agg) {
		t.Fatalf("aggregate key: %v", err)
	}
	ab := agg.Bytes()
	if p, err := ParseSignature(ab[:]); err != nil || !FastAggregateVerify(pks, msg, p) {
		t.Fatalf("aggregate round trip: %v", err)
	}
	if _, err := AggregateSignatures(nil); !errors.Is(err, ErrEmptyAggregate) {
		t.Fatal("empty aggregate")
	}
	if FastAggregateVerify(nil, msg, agg) {
		t.Fatal("no keys verifies")
	}
}

func TestParseRejects(t *testing.T) {
	g1Inf := append([]byte{0xc0}, make([]byte, 47)...)
	g2Inf := append([]byte{0xc0}, make([]byte, 95)...)
	// On the curve, outside the subgroup (x = 4 for G1, x = 2 for G2; found
	// with a short Python search for x³+b being a square).
	g1Off := mustHex(t, "80"+strings.Repeat("00", 46)+"04")
	g2Off := mustHex(t, "80"+strings.Repeat("00", 94)+"02")
	k := testKey(t, 1)
	pkb := k.PublicKey().Bytes()
	uncompressedFlag := append([]byte(nil), pkb[:]...)
	uncompressedFlag[0] &^= 0x80
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"short":              {pkb[:47], "bytes"},
		"long":               {append(pkb[:], 0), "bytes"},
		"identity":           {g1Inf, "identity"},
		"outside subgroup":   {g1Off, "subgroup"},
		"no compressed flag": {uncompressedFlag, "not a compressed"},
		"x not on curve":     {mustHex(t, "80"+strings.Repeat("00", 46)+"01"), "not a compressed"},
		"x ≥ p":              {mustHex(t, "9f"+strings.Repeat("ff", 47)), "not a compressed"},
	} {
		_, err := ParsePublicKey(tc.b)
		if !errors.Is(err, ErrInvalidPublicKey) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("public key %s: %v", name, err)
		}
	}
	sb := k.Sign([]byte("x")).Bytes()
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"short":            {sb[:95], "bytes"},
		"identity":         {g2Inf, "identity"},
		"outside subgroup": {g2Off, "subgroup"},
		"garbage":          {bytes.Repeat([]byte{0xab}, 96), "not a compressed"},
	} {
		_, err := ParseSignature(tc.b)
		if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("signature %s: %v", name, err)
		}
	}
	r := mustHex(t, "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001") // the group order
	for name, b := range map[string][]byte{"zero": make([]byte, 32), "order": r, "short": r[:31]} {
		if _, err := ParseSecretKey(b); !errors.Is(err, ErrInvalidSecretKey) {
			t.Errorf("secret key %s: %v", name, err)
		}
	}
	if _, err := KeyFromSeed(make([]byte, 31)); !errors.Is(err, ErrInvalidSecretKey) {
		t.Errorf("short seed: %v", err)
	}
}

func TestVRF(t *testing.T) {
	k1, k2 := testKey(t, 1), testKey(t, 2)
	seed := da.Hash{1, 2, 3}
	out, proof := k1.VRF("zgda-test", 4, seed)
	out2, proof2 := k1.VRF("zgda-test", 4, seed)
	if out != out2 || proof != proof2 {
		t.Fatal("VRF is not deterministic")
	}
	if out != da.VRFOutput(proof) {
		t.Fatal("output is not SHA-256 of the proof")
	}
	got, err := VerifyVRF(k1.PublicKey(), "zgda-test", 4, seed, proof)
	if err != nil || got != out {
		t.Fatalf("verify: %v", err)
	}
	for name, f := range map[string]func() error{
		"other key":   func() error { _, err := VerifyVRF(k2.PublicKey(), "zgda-test", 4, seed, proof); return err },
		"other epoch": func() error { _, err := VerifyVRF(k1.PublicKey(), "zgda-test", 5, seed, proof); return err },
		"other seed":  func() error { _, err := VerifyVRF(k1.PublicKey(), "zgda-test", 4, da.Hash{9}, proof); return err },
		"other chain": func() error { _, err := VerifyVRF(k1.PublicKey(), "zgda-x", 4, seed, proof); return err },
	} {
		if err := f(); !errors.Is(err, ErrVerify) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := VerifyVRF(k1.PublicKey(), "zgda-test", 4, seed, da.Signature{}); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("garbage proof: %v", err)
	}
	o2, _ := k2.VRF("zgda-test", 4, seed)
	if o2 == out {
		t.Fatal("two keys, one output")
	}
}

func FuzzParse(f *testing.F) {
	k, _ := KeyFromSeed(bytes.Repeat([]byte{1}, 32))
	pk := k.PublicKey().Bytes()
	sig := k.Sign([]byte("m")).Bytes()
	f.Add(pk[:])
	f.Add(sig[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParsePublicKey(b); err == nil {
			if got := p.Bytes(); !bytes.Equal(got[:], b) {
				t.Fatal("public key not canonical")
			}
		}
		if s, err := ParseSignature(b); err == nil {
			if got := s.Bytes(); !bytes.Equal(got[:], b) {
				t.Fatal("signature not canonical")
			}
		}
	})
}
