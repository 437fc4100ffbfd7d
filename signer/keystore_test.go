package signer

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// The EIP-2335 test vectors' password and secret (testdata/README.md).
const (
	vectorPassword = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑"
	vectorSecret   = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
	vectorPubkey   = "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07"
)

// Light KDF parameters: the default tests must stay fast.
var (
	lightScrypt = WithScrypt(16, 8, 1)
	lightPBKDF2 = WithPBKDF2(16)
)

func TestKeystoreEIP2335Vectors(t *testing.T) {
	files, err := filepath.Glob("testdata/eip2335-*.json")
	if err != nil || len(files) != 2 {
		t.Fatalf("want the 2 EIP-2335 vectors in testdata, found %v (%v)", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			if v["pubkey"] != vectorPubkey {
				t.Fatalf("vector pubkey %v", v["pubkey"])
			}
			key, err := DecryptKeystore(raw, vectorPassword)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(key.Bytes()); got != vectorSecret {
				t.Fatalf("secret %s, want %s", got, vectorSecret)
			}
			if pub := key.PublicKey().Bytes(); hex.EncodeToString(pub[:]) != vectorPubkey {
				t.Fatalf("derived pubkey %x, want %s", pub, vectorPubkey)
			}
			// Scrypt at n=2^18 takes seconds under the race detector.
			if testing.Short() || (raceEnabled && strings.Contains(file, "scrypt")) {
				return
			}
			// Encrypting with the vector's salt, IV and UUID reproduces it.
			crypto := v["crypto"].(map[string]any)
			kdf := crypto["kdf"].(map[string]any)
			params := kdf["params"].(map[string]any)
			id := uuid.MustParse(v["uuid"].(string))
			entropy := mustHex(t, params["salt"].(string))
			entropy = append(entropy, mustHex(t, crypto["cipher"].(map[string]any)["params"].(map[string]any)["iv"].(string))...)
			entropy = append(entropy, id[:]...)
			opts := []KeystoreOption{
				WithKeystorePath(v["path"].(string)),
				WithKeystoreDescription(v["description"].(string)),
				WithKeystoreRand(bytes.NewReader(entropy)),
			}
			if kdf["function"] == "pbkdf2" {
				opts = append(opts, WithPBKDF2(int(params["c"].(float64))))
			}
			out, err := EncryptKeystore(key, vectorPassword, opts...)
			if err != nil {
				t.Fatal(err)
			}
			var w map[string]any
			if err := json.Unmarshal(out, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, w) {
				t.Fatalf("re-encrypted vector differs:\n%s", out)
			}
		})
	}
}

func TestProcessPassword(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"vector", vectorPassword, "testpassword🔑"},
		{"control codes", "a\x00b\x1fc\x7fd\u0080e\u009ff\n", "abcdef"},
		{"nfkd", "\u00e9\ufb01", "e\u0301fi"},
		{"space kept", " a b ", " a b "},
		{"only controls", "\r\n\t", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(processPassword(tc.in)); got != tc.want {
				t.Fatalf("%q → %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestKeystoreRoundTrip(t *testing.T) {
	key := testKey(t, 7)
	for _, tc := range []struct {
		name      string
		opts      []KeystoreOption
		pw, pwDec string // encrypt and decrypt passwords (equal after processing)
		kdf       string
	}{
		{"scrypt", []KeystoreOption{lightScrypt}, "correct horse", "correct horse", "scrypt"},
		{"pbkdf2", []KeystoreOption{lightPBKDF2}, "correct horse", "correct horse", "pbkdf2"},
		{"nfkd equivalent", []KeystoreOption{lightScrypt}, "caf\u00e9", "cafe\u0301", "scrypt"},
		{"trailing newline", []KeystoreOption{lightPBKDF2}, "secret\n", "secret", "pbkdf2"},
		{"path and description", []KeystoreOption{lightScrypt, WithKeystorePath("m/12381/60/0/0"), WithKeystoreDescription("node 1")}, "pw", "pw", "scrypt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := EncryptKeystore(key, tc.pw, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var j keystoreJSON
			if err := json.Unmarshal(raw, &j); err != nil {
				t.Fatal(err)
			}
			pub := key.PublicKey().Bytes()
			if j.Version != 4 || j.Pubkey != hex.EncodeToString(pub[:]) || j.Crypto.KDF.Function != tc.kdf ||
				j.Crypto.Cipher.Function != "aes-128-ctr" || j.Crypto.Checksum.Function != "sha256" {
				t.Fatalf("keystore fields:\n%s", raw)
			}
			if id, err := uuid.Parse(j.UUID); err != nil || id.Version() != 4 {
				t.Fatalf("uuid %q: %v", j.UUID, err)
			}
			got, err := DecryptKeystore(raw, tc.pwDec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), key.Bytes()) || !got.PublicKey().Equal(key.PublicKey()) {
				t.Fatal("decrypted a different key")
			}
		})
	}
	// Fresh salt and IV each time.
	a, _ := EncryptKeystore(key, "pw", lightScrypt)
	b, _ := EncryptKeystore(key, "pw", lightScrypt)
	if bytes.Equal(a, b) {
		t.Fatal("two encryptions are identical")
	}
}

func TestEncryptKeystoreRejects(t *testing.T) {
	key := testKey(t, 1)
	for _, tc := range []struct {
		name string
		pw   string
		opts []KeystoreOption
		want error
	}{
		{"empty password", "", []KeystoreOption{lightScrypt}, ErrKeystoreEmptyPassword},
		{"only control codes", "\n\t\x7f", []KeystoreOption{lightScrypt}, ErrKeystoreEmptyPassword},
		{"scrypt n not power of two", "pw", []KeystoreOption{WithScrypt(1000, 8, 1)}, ErrKeystoreMalformed},
		{"scrypt n above cap", "pw", []KeystoreOption{WithScrypt(1<<21, 1, 1)}, ErrKeystoreKDFLimit},
		{"scrypt memory above cap", "pw", []KeystoreOption{WithScrypt(1<<20, 16, 1)}, ErrKeystoreKDFLimit},
		{"pbkdf2 zero", "pw", []KeystoreOption{WithPBKDF2(0)}, ErrKeystoreMalformed},
		{"pbkdf2 above cap", "pw", []KeystoreOption{WithPBKDF2(1<<22 + 1)}, ErrKeystoreKDFLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := EncryptKeystore(key, tc.pw, tc.opts...); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEncryptKeystoreDefaults(t *testing.T) {
	// EIP-2335's recommended parameters; running them is the vectors' job.
	o := defaultKeystoreOptions()
	if o.kdf != "scrypt" || o.n != 1<<18 || o.r != 8 || o.p != 1 || o.c != 1<<18 {
		t.Fatalf("defaults %+v", o)
	}
	for _, kdf := range []string{"scrypt", "pbkdf2"} {
		ks := parsedKeystore{kdf: kdf, n: o.n, r: o.r, p: o.p, c: o.c}
		if err := ks.checkKDF(); err != nil {
			t.Fatalf("default %s parameters refused: %v", kdf, err)
		}
	}
}

// mutate edits a keystore's JSON through a generic map.
func mutate(t *testing.T, raw []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func flipHex(s string) string {
	b := []byte(s)
	if b[0] == '0' {
		b[0] = '1'
	} else {
		b[0] = '0'
	}
	return string(b)
}

func TestDecryptKeystoreRejects(t *testing.T) {
	key, other := testKey(t, 3), testKey(t, 4)
	scryptKS, err := EncryptKeystore(key, "pw", lightScrypt)
	if err != nil {
		t.Fatal(err)
	}
	pbkdf2KS, err := EncryptKeystore(key, "pw", lightPBKDF2)
	if err != nil {
		t.Fatal(err)
	}
	otherPub := other.PublicKey().Bytes()

	// A keystore that decrypts, under the right checksum, to a secret that
	// is not a BLS key (zero).
	invalidSecret := mutate(t, scryptKS, func(m map[string]any) {
		ks, err := parseKeystore(scryptKS)
		if err != nil {
			t.Fatal(err)
		}
		dk, _ := ks.deriveKey([]byte("pw"))
		ct := aesCTR(dk[:16], ks.iv, make([]byte, 32))
		obj(m, "crypto", "cipher")["message"] = hex.EncodeToString(ct)
		obj(m, "crypto", "checksum")["message"] = hex.EncodeToString(keystoreChecksum(dk, ct))
	})

	for _, tc := range []struct {
		name string
		raw  []byte
		pw   string
		want error
	}{
		{"wrong password scrypt", scryptKS, "pW", ErrKeystorePassword},
		{"wrong password pbkdf2", pbkdf2KS, "", ErrKeystorePassword},
		{"tampered ciphertext", mutate(t, scryptKS, func(m map[string]any) {
			c := obj(m, "crypto", "cipher")
			c["message"] = flipHex(c["message"].(string))
		}), "pw", ErrKeystorePassword},
		{"tampered checksum", mutate(t, pbkdf2KS, func(m map[string]any) {
			c := obj(m, "crypto", "checksum")
			c["message"] = flipHex(c["message"].(string))
		}), "pw", ErrKeystorePassword},
		{"tampered salt", mutate(t, scryptKS, func(m map[string]any) {
			p := obj(m, "crypto", "kdf", "params")
			p["salt"] = flipHex(p["salt"].(string))
		}), "pw", ErrKeystorePassword},
		{"pubkey of another key", mutate(t, scryptKS, func(m map[string]any) {
			m["pubkey"] = hex.EncodeToString(otherPub[:])
		}), "pw", ErrKeystorePubkeyMismatch},
		{"secret not a key", invalidSecret, "pw", ErrKeystoreMalformed},
		{"pubkey with 0x", mutate(t, scryptKS, func(m map[string]any) { m["pubkey"] = "0x" + m["pubkey"].(string) }), "pw", ErrKeystoreMalformed},
		{"pubkey missing", mutate(t, scryptKS, func(m map[string]any) { delete(m, "pubkey") }), "pw", ErrKeystoreMalformed},
		{"version 3", mutate(t, scryptKS, func(m map[string]any) { m["version"] = 3 }), "pw", ErrKeystoreMalformed},
		{"version missing", mutate(t, scryptKS, func(m map[string]any) { delete(m, "version") }), "pw", ErrKeystoreMalformed},
		{"crypto missing", mutate(t, scryptKS, func(m map[string]any) { delete(m, "crypto") }), "pw", ErrKeystoreMalformed},
		{"unknown kdf", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "kdf")["function"] = "argon2id" }), "pw", ErrKeystoreMalformed},
		{"kdf params missing", mutate(t, scryptKS, func(m map[string]any) { delete(obj(m, "crypto", "kdf"), "params") }), "pw", ErrKeystoreMalformed},
		{"kdf params a string", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "kdf")["params"] = "x" }), "pw", ErrKeystoreMalformed},
		{"dklen 16", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "kdf", "params")["dklen"] = 16 }), "pw", ErrKeystoreMalformed},
		{"salt empty", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "kdf", "params")["salt"] = "" }), "pw", ErrKeystoreMalformed},
		{"scrypt n not power of two", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "kdf", "params")["n"] = 1000 }), "pw", ErrKeystoreMalformed},
		{"scrypt n negative", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "kdf", "params")["n"] = -16 }), "pw", ErrKeystoreMalformed},
		{"scrypt n fractional", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "kdf", "params")["n"] = 16.5 }), "pw", ErrKeystoreMalformed},
		{"scrypt n above cap", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "kdf", "params")["n"] = 1 << 30 }), "pw", ErrKeystoreKDFLimit},
		{"scrypt r above cap", mutate(t, scryptKS, func(m map[string]any) {
			p := obj(m, "crypto", "kdf", "params")
			p["n"], p["r"] = 1<<20, 1<<40
		}), "pw", ErrKeystoreKDFLimit},
		{"scrypt p above cap", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "kdf", "params")["p"] = 1 << 62 }), "pw", ErrKeystoreKDFLimit},
		{"pbkdf2 c above cap", mutate(t, pbkdf2KS, func(m map[string]any) { obj(m, "crypto", "kdf", "params")["c"] = 1 << 23 }), "pw", ErrKeystoreKDFLimit},
		{"pbkdf2 prf sha512", mutate(t, pbkdf2KS, func(m map[string]any) { obj(m, "crypto", "kdf", "params")["prf"] = "hmac-sha512" }), "pw", ErrKeystoreMalformed},
		{"checksum function", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "checksum")["function"] = "keccak256" }), "pw", ErrKeystoreMalformed},
		{"checksum short", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "checksum")["message"] = "abcd" }), "pw", ErrKeystoreMalformed},
		{"checksum not hex", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "checksum")["message"] = strings.Repeat("zz", 32) }), "pw", ErrKeystoreMalformed},
		{"cipher function", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "cipher")["function"] = "aes-256-gcm" }), "pw", ErrKeystoreMalformed},
		{"iv short", mutate(t, scryptKS, func(m map[string]any) { obj(m, "crypto", "cipher", "params")["iv"] = "00" }), "pw", ErrKeystoreMalformed},
		{"ciphertext 31 bytes", mutate(t, scryptKS, func(m map[string]any) {
			c := obj(m, "crypto", "cipher")
			c["message"] = c["message"].(string)[2:]
		}), "pw", ErrKeystoreMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecryptKeystore(tc.raw, tc.pw)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for _, e := range []error{ErrKeystorePassword, ErrKeystoreMalformed, ErrKeystoreKDFLimit, ErrKeystorePubkeyMismatch} {
				if e != tc.want && errors.Is(err, e) {
					t.Fatalf("%v is also %v", err, e)
				}
			}
			if tc.want == ErrKeystoreKDFLimit && !strings.Contains(err.Error(), "hostile keystore") {
				t.Fatalf("KDF limit error does not say why: %v", err)
			}
		})
	}
}

func TestDecryptKeystoreGarbage(t *testing.T) {
	good, err := EncryptKeystore(testKey(t, 1), "pw", lightPBKDF2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"null", []byte("null")},
		{"empty object", []byte("{}")},
		{"array", []byte("[1,2]")},
		{"text", []byte("not a keystore")},
		{"truncated", good[:len(good)/2]},
		{"truncated by one", bytes.TrimSpace(good)[:len(bytes.TrimSpace(good))-1]},
		{"trailing garbage", append(append([]byte{}, good...), "}x"...)},
		{"binary", []byte{0xff, 0x00, 0x7b, 0x22}},
		{"oversized", append(append([]byte{}, good...), bytes.Repeat([]byte(" "), MaxKeystoreSize)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecryptKeystore(tc.raw, "pw"); !errors.Is(err, ErrKeystoreMalformed) {
				t.Fatalf("got %v, want ErrKeystoreMalformed", err)
			}
		})
	}
}

func TestKeystoreFile(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t, 5)
	raw, err := EncryptKeystore(key, "pw", lightScrypt)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "node.json")
	if err := WriteKeystoreFile(path, raw); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v), want 0600", fi.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	got, err := LoadKeystoreFile(path, "pw")
	if err != nil || !got.PublicKey().Equal(key.PublicKey()) {
		t.Fatalf("load: %v", err)
	}
	if _, err := LoadKeystoreFile(path, "wrong"); !errors.Is(err, ErrKeystorePassword) || !strings.Contains(err.Error(), path) {
		t.Fatalf("wrong password: %v", err)
	}

	// No overwrite; the original stays.
	other, _ := EncryptKeystore(testKey(t, 6), "pw", lightScrypt)
	if err := WriteKeystoreFile(path, other); !errors.Is(err, ErrKeystoreExists) {
		t.Fatalf("overwrite: %v", err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, raw) {
		t.Fatal("existing keystore was replaced")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if err := WriteKeystoreFile(filepath.Join(dir, "missing", "k.json"), raw); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}

	// Permissions: anything for group or others is refused.
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o601} {
		os.Chmod(path, mode)
		_, err := LoadKeystoreFile(path, "pw")
		if !errors.Is(err, ErrKeystorePermissions) || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Fatalf("mode %04o: %v", mode, err)
		}
	}
	os.Chmod(path, 0o400)
	if _, err := LoadKeystoreFile(path, "pw"); err != nil {
		t.Fatalf("mode 0400: %v", err)
	}

	if _, err := LoadKeystoreFile(filepath.Join(dir, "nope.json"), "pw"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	os.Chmod(dir, 0o700)
	if _, err := LoadKeystoreFile(dir, "pw"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: %v", err)
	}
}

func FuzzDecryptKeystore(f *testing.F) {
	key := testKey(f, 9)
	for _, opt := range []KeystoreOption{WithScrypt(2, 1, 1), WithPBKDF2(1)} {
		raw, err := EncryptKeystore(key, "fuzz", opt)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, "fuzz")
		f.Add(raw, "wrong")
		compact := new(bytes.Buffer)
		json.Compact(compact, raw)
		f.Add(compact.Bytes(), "fuzz")
	}
	f.Add([]byte(`{"version":4}`), "")
	f.Add([]byte(`{"crypto":{"kdf":{"function":"scrypt","params":{"n":1048576,"r":8,"p":1,"dklen":32,"salt":"00"}}},"version":4}`), "x")
	f.Add([]byte("null"), "")
	f.Fuzz(func(t *testing.T, raw []byte, password string) {
		// Keep the fuzzer on parsing, not on KDF time.
		if ks, err := parseKeystore(raw); err == nil && ks.kdfWork() > 1<<10 {
			return
		}
		k, err := DecryptKeystore(raw, password)
		if err != nil {
			for _, e := range []error{ErrKeystoreMalformed, ErrKeystoreKDFLimit, ErrKeystorePassword, ErrKeystorePubkeyMismatch} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("error wraps no keystore sentinel: %v", err)
		}
		// Whatever decrypts is a valid key matching the pubkey field.
		ks, _ := parseKeystore(raw)
		pub := k.PublicKey().Bytes()
		if !bytes.Equal(pub[:], ks.pubkey) {
			t.Fatal("decrypted key does not match its pubkey field")
		}
	})
}
