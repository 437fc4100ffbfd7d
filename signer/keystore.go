package signer

// EIP-2335 keystores: the password-encrypted JSON files Ethereum validator
// operators already keep their BLS keys in, so a DA node operator can use
// the same tooling and habits. Version 4 only; KDF scrypt (written by
// default, n=2^18 r=8 p=1) or pbkdf2 with hmac-sha256 (c=2^18), checksum
// sha256(decryption_key[16:32] ‖ cipher_message), cipher aes-128-ctr keyed
// with decryption_key[:16]. The password is processed as EIP-2335 says:
// NFKD-normalised, then C0, C1 and Delete control codes stripped.
//
// Decryption checks the file's shape before running the KDF, refuses KDF
// parameters above MaxScryptN, MaxScryptMemory, MaxScryptWork and
// MaxPBKDF2Iterations (a hostile file must not exhaust memory or CPU),
// tells a wrong password (ErrKeystorePassword) from a malformed file
// (ErrKeystoreMalformed), and checks that the decrypted key's public key is
// the file's pubkey field (ErrKeystorePubkeyMismatch).

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/crypto/scrypt"
	"golang.org/x/text/unicode/norm"
)

// Keystore format constants and the KDF parameters EncryptKeystore writes
// by default (EIP-2335's recommendations).
const (
	KeystoreVersion         = 4
	DefaultScryptN          = 1 << 18
	DefaultScryptR          = 8
	DefaultScryptP          = 1
	DefaultPBKDF2Iterations = 1 << 18
)

// Caps on what DecryptKeystore accepts (and EncryptKeystore writes).
const (
	// MaxScryptN caps scrypt's cost parameter n.
	MaxScryptN = 1 << 20
	// MaxScryptMemory caps scrypt's memory, 128·n·r bytes (1 GiB: n=2^20, r=8).
	MaxScryptMemory = 1 << 30
	// MaxScryptWork caps n·r·p, scrypt's CPU work (8× the default).
	MaxScryptWork = 1 << 24
	// MaxPBKDF2Iterations caps pbkdf2's iteration count c.
	MaxPBKDF2Iterations = 1 << 22
	// MaxKeystoreSize caps the JSON a keystore may take.
	MaxKeystoreSize = 64 << 10
)

const (
	kdfScrypt      = "scrypt"
	kdfPBKDF2      = "pbkdf2"
	prfHMACSHA256  = "hmac-sha256"
	checksumSHA256 = "sha256"
	cipherAES128   = "aes-128-ctr"
	dkLen          = 32
	saltLen        = 32
	maxSaltLen     = 1024
)

// KeystoreOption configures EncryptKeystore.
type KeystoreOption func(*keystoreOptions)

type keystoreOptions struct {
	kdf         string
	n, r, p, c  int
	path, descr string
	rand        io.Reader
}

// WithScrypt selects scrypt with the given parameters (n a power of two).
// Values below the defaults are for tests only.
func WithScrypt(n, r, p int) KeystoreOption {
	return func(o *keystoreOptions) { o.kdf, o.n, o.r, o.p = kdfScrypt, n, r, p }
}

// WithPBKDF2 selects pbkdf2 with hmac-sha256 and c iterations.
func WithPBKDF2(c int) KeystoreOption {
	return func(o *keystoreOptions) { o.kdf, o.c = kdfPBKDF2, c }
}

// WithKeystorePath sets the keystore's path field (EIP-2334 derivation path;
// "" for a key not derived from a mnemonic, the default).
func WithKeystorePath(path string) KeystoreOption {
	return func(o *keystoreOptions) { o.path = path }
}

// WithKeystoreDescription sets the keystore's description field.
func WithKeystoreDescription(d string) KeystoreOption {
	return func(o *keystoreOptions) { o.descr = d }
}

// WithKeystoreRand reads the salt (32 bytes), IV (16) and UUID (16) from r
// instead of crypto/rand, in that order. Tests use it to reproduce vectors.
func WithKeystoreRand(r io.Reader) KeystoreOption {
	return func(o *keystoreOptions) { o.rand = r }
}

// JSON shapes of EIP-2335. Params stay raw until the function is known.
type keystoreJSON struct {
	Crypto struct {
		KDF      keystoreModule `json:"kdf"`
		Checksum keystoreModule `json:"checksum"`
		Cipher   keystoreModule `json:"cipher"`
	} `json:"crypto"`
	Description string `json:"description"`
	Pubkey      string `json:"pubkey"`
	Path        string `json:"path"`
	UUID        string `json:"uuid"`
	Version     int    `json:"version"`
}

type keystoreModule struct {
	Function string          `json:"function"`
	Params   json.RawMessage `json:"params"`
	Message  string          `json:"message"`
}

type scryptParams struct {
	DKLen int    `json:"dklen"`
	N     int    `json:"n"`
	P     int    `json:"p"`
	R     int    `json:"r"`
	Salt  string `json:"salt"`
}

type pbkdf2Params struct {
	DKLen int    `json:"dklen"`
	C     int    `json:"c"`
	PRF   string `json:"prf"`
	Salt  string `json:"salt"`
}

type cipherParams struct {
	IV string `json:"iv"`
}

// parsedKeystore is a keystore whose shape has been checked: everything
// but the password is known to be usable.
type parsedKeystore struct {
	kdf        string
	n, r, p, c int
	salt       []byte
	checksum   []byte
	iv         []byte
	ciphertext []byte
	pubkey     []byte
}

func defaultKeystoreOptions() keystoreOptions {
	return keystoreOptions{kdf: kdfScrypt, n: DefaultScryptN, r: DefaultScryptR, p: DefaultScryptP, c: DefaultPBKDF2Iterations, rand: rand.Reader}
}

// EncryptKeystore encrypts key under password into an EIP-2335 version-4
// keystore (indented JSON). Scrypt with the default parameters unless an
// option says otherwise. The password must not be empty after EIP-2335
// processing.
func EncryptKeystore(key *Key, password string, opts ...KeystoreOption) ([]byte, error) {
	o := defaultKeystoreOptions()
	for _, opt := range opts {
		opt(&o)
	}
	ks := parsedKeystore{kdf: o.kdf, n: o.n, r: o.r, p: o.p, c: o.c}
	if err := ks.checkKDF(); err != nil {
		return nil, err
	}
	pw := processPassword(password)
	defer clear(pw)
	if len(pw) == 0 {
		return nil, fmt.Errorf("%w: choose a non-empty password (control characters do not count)", ErrKeystoreEmptyPassword)
	}
	ks.salt = make([]byte, saltLen)
	ks.iv = make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(o.rand, ks.salt); err != nil {
		return nil, fmt.Errorf("signer: reading keystore salt: %w", err)
	}
	if _, err := io.ReadFull(o.rand, ks.iv); err != nil {
		return nil, fmt.Errorf("signer: reading keystore IV: %w", err)
	}
	id, err := uuid.NewRandomFromReader(o.rand)
	if err != nil {
		return nil, fmt.Errorf("signer: reading keystore UUID: %w", err)
	}

	dk, err := ks.deriveKey(pw)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	secret := key.Bytes()
	defer clear(secret)
	ks.ciphertext = aesCTR(dk[:16], ks.iv, secret)
	ks.checksum = keystoreChecksum(dk, ks.ciphertext)

	var j keystoreJSON
	switch ks.kdf {
	case kdfScrypt:
		j.Crypto.KDF = keystoreModule{Function: kdfScrypt, Params: mustJSON(scryptParams{DKLen: dkLen, N: ks.n, P: ks.p, R: ks.r, Salt: hex.EncodeToString(ks.salt)})}
	case kdfPBKDF2:
		j.Crypto.KDF = keystoreModule{Function: kdfPBKDF2, Params: mustJSON(pbkdf2Params{DKLen: dkLen, C: ks.c, PRF: prfHMACSHA256, Salt: hex.EncodeToString(ks.salt)})}
	}
	j.Crypto.Checksum = keystoreModule{Function: checksumSHA256, Params: json.RawMessage("{}"), Message: hex.EncodeToString(ks.checksum)}
	j.Crypto.Cipher = keystoreModule{Function: cipherAES128, Params: mustJSON(cipherParams{IV: hex.EncodeToString(ks.iv)}), Message: hex.EncodeToString(ks.ciphertext)}
	pub := key.PublicKey().Bytes()
	j.Description = o.descr
	j.Pubkey = hex.EncodeToString(pub[:])
	j.Path = o.path
	j.UUID = id.String()
	j.Version = KeystoreVersion
	out, err := json.MarshalIndent(&j, "", "    ")
	if err != nil {
		return nil, fmt.Errorf("signer: encoding keystore: %w", err)
	}
	return append(out, '\n'), nil
}

// DecryptKeystore decrypts an EIP-2335 version-4 keystore. raw is only
// read. Errors wrap ErrKeystoreMalformed, ErrKeystoreKDFLimit,
// ErrKeystorePassword or ErrKeystorePubkeyMismatch.
func DecryptKeystore(raw []byte, password string) (*Key, error) {
	ks, err := parseKeystore(raw)
	if err != nil {
		return nil, err
	}
	pw := processPassword(password)
	defer clear(pw)
	dk, err := ks.deriveKey(pw)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	if subtle.ConstantTimeCompare(keystoreChecksum(dk, ks.ciphertext), ks.checksum) != 1 {
		return nil, fmt.Errorf("%w (checksum mismatch; if the password is right, the keystore was altered)", ErrKeystorePassword)
	}
	secret := aesCTR(dk[:16], ks.iv, ks.ciphertext)
	defer clear(secret)
	key, err := ParseSecretKey(secret)
	if err != nil {
		return nil, fmt.Errorf("%w: the decrypted secret is not a BLS12-381 key: %w", ErrKeystoreMalformed, err)
	}
	if pub := key.PublicKey().Bytes(); !bytes.Equal(pub[:], ks.pubkey) {
		key.Zeroize()
		return nil, fmt.Errorf("%w: pubkey field %x, decrypted key's %x", ErrKeystorePubkeyMismatch, ks.pubkey, pub[:])
	}
	return key, nil
}

// LoadKeystoreFile reads and decrypts a keystore file, refusing one that
// group or others can access (ErrKeystorePermissions).
func LoadKeystoreFile(path, password string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("signer: opening keystore: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("signer: keystore %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("signer: keystore %s is not a regular file", path)
	}
	// Windows reports synthetic permission bits; there the ACL is the user's job.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%w: %s has mode %04o, so group or others can access it; run 'chmod 600 %s'", ErrKeystorePermissions, path, perm, path)
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxKeystoreSize+1))
	if err != nil {
		return nil, fmt.Errorf("signer: reading keystore %s: %w", path, err)
	}
	key, err := DecryptKeystore(raw, password)
	if err != nil {
		return nil, fmt.Errorf("keystore %s: %w", path, err)
	}
	return key, nil
}

// WriteKeystoreFile writes raw to path with mode 0600, atomically: a
// temporary file in the same directory is written and fsynced, then linked
// into place, which fails rather than replace an existing file
// (ErrKeystoreExists); the directory is fsynced last.
func WriteKeystoreFile(path string, raw []byte) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%w: %s; move it away or choose another path", ErrKeystoreExists, path)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("signer: writing keystore: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name) // after the link, only the temporary name goes
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(raw)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("signer: writing keystore %s: %w", path, err)
	}
	// A hard link is a rename that never replaces its target.
	if err := os.Link(name, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s; move it away or choose another path", ErrKeystoreExists, path)
		}
		// A filesystem without hard links: rename after the check above,
		// which a writer racing for the same path could slip between.
		if _, serr := os.Lstat(path); serr == nil {
			return fmt.Errorf("%w: %s; move it away or choose another path", ErrKeystoreExists, path)
		}
		if err := os.Rename(name, path); err != nil {
			return fmt.Errorf("signer: writing keystore %s: %w", path, err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil && runtime.GOOS != "windows" {
			return fmt.Errorf("signer: syncing directory of keystore %s: %w", path, err)
		}
	}
	return nil
}

// parseKeystore checks everything about a keystore that does not need the
// password, so that malformed files fail before the KDF runs.
func parseKeystore(raw []byte) (*parsedKeystore, error) {
	if len(raw) > MaxKeystoreSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrKeystoreMalformed, len(raw), MaxKeystoreSize)
	}
	var j keystoreJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("%w: not keystore JSON: %v", ErrKeystoreMalformed, err)
	}
	if j.Version != KeystoreVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrKeystoreMalformed, j.Version, KeystoreVersion)
	}
	ks := new(parsedKeystore)
	var err error
	kdf := j.Crypto.KDF
	switch kdf.Function {
	case kdfScrypt:
		var p scryptParams
		if err := unmarshalParams(kdf.Params, &p); err != nil {
			return nil, fmt.Errorf("%w: crypto.kdf.params: %v", ErrKeystoreMalformed, err)
		}
		ks.kdf, ks.n, ks.r, ks.p = kdfScrypt, p.N, p.R, p.P
		if err := checkDKLen(p.DKLen); err != nil {
			return nil, err
		}
		if ks.salt, err = decodeHex("crypto.kdf.params.salt", p.Salt, 1, maxSaltLen); err != nil {
			return nil, err
		}
	case kdfPBKDF2:
		var p pbkdf2Params
		if err := unmarshalParams(kdf.Params, &p); err != nil {
			return nil, fmt.Errorf("%w: crypto.kdf.params: %v", ErrKeystoreMalformed, err)
		}
		if p.PRF != prfHMACSHA256 {
			return nil, fmt.Errorf("%w: pbkdf2 prf %q, want %q", ErrKeystoreMalformed, p.PRF, prfHMACSHA256)
		}
		ks.kdf, ks.c = kdfPBKDF2, p.C
		if err := checkDKLen(p.DKLen); err != nil {
			return nil, err
		}
		if ks.salt, err = decodeHex("crypto.kdf.params.salt", p.Salt, 1, maxSaltLen); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: crypto.kdf.function %q, want %q or %q", ErrKeystoreMalformed, kdf.Function, kdfScrypt, kdfPBKDF2)
	}
	if err := ks.checkKDF(); err != nil {
		return nil, err
	}

	if f := j.Crypto.Checksum.Function; f != checksumSHA256 {
		return nil, fmt.Errorf("%w: crypto.checksum.function %q, want %q", ErrKeystoreMalformed, f, checksumSHA256)
	}
	if ks.checksum, err = decodeHex("crypto.checksum.message", j.Crypto.Checksum.Message, sha256.Size, sha256.Size); err != nil {
		return nil, err
	}

	c := j.Crypto.Cipher
	if c.Function != cipherAES128 {
		return nil, fmt.Errorf("%w: crypto.cipher.function %q, want %q", ErrKeystoreMalformed, c.Function, cipherAES128)
	}
	var cp cipherParams
	if err := unmarshalParams(c.Params, &cp); err != nil {
		return nil, fmt.Errorf("%w: crypto.cipher.params: %v", ErrKeystoreMalformed, err)
	}
	if ks.iv, err = decodeHex("crypto.cipher.params.iv", cp.IV, aes.BlockSize, aes.BlockSize); err != nil {
		return nil, err
	}
	if ks.ciphertext, err = decodeHex("crypto.cipher.message", c.Message, SecretKeySize, SecretKeySize); err != nil {
		return nil, err
	}
	if ks.pubkey, err = decodeHex("pubkey", j.Pubkey, PublicKeySize, PublicKeySize); err != nil {
		return nil, err
	}
	return ks, nil
}

// checkKDF checks the KDF parameters against what scrypt needs and the caps.
func (ks *parsedKeystore) checkKDF() error {
	switch ks.kdf {
	case kdfScrypt:
		n, r, p := ks.n, ks.r, ks.p
		if n < 2 || bits.OnesCount(uint(n)) != 1 || r < 1 || p < 1 {
			return fmt.Errorf("%w: scrypt n=%d r=%d p=%d: n must be a power of two above 1, r and p positive", ErrKeystoreMalformed, n, r, p)
		}
		// Overflow-safe: n ≤ 2^20 first, then r and p bounded by the products.
		if n > MaxScryptN || r > MaxScryptMemory/128/n || p > MaxScryptWork/n/r {
			return fmt.Errorf("%w: scrypt n=%d r=%d p=%d; this build accepts n ≤ 2^20, 128·n·r ≤ 1 GiB and n·r·p ≤ 2^24 so that a hostile keystore cannot exhaust memory or CPU", ErrKeystoreKDFLimit, n, r, p)
		}
	case kdfPBKDF2:
		if ks.c < 1 {
			return fmt.Errorf("%w: pbkdf2 c=%d, must be positive", ErrKeystoreMalformed, ks.c)
		}
		if ks.c > MaxPBKDF2Iterations {
			return fmt.Errorf("%w: pbkdf2 c=%d; this build accepts c ≤ 2^22 so that a hostile keystore cannot exhaust CPU", ErrKeystoreKDFLimit, ks.c)
		}
	default:
		return fmt.Errorf("%w: KDF %q, want %q or %q", ErrKeystoreMalformed, ks.kdf, kdfScrypt, kdfPBKDF2)
	}
	return nil
}

// deriveKey runs the KDF over the processed password; the caller owns and
// clears the 32-byte result.
func (ks *parsedKeystore) deriveKey(pw []byte) ([]byte, error) {
	var dk []byte
	var err error
	switch ks.kdf {
	case kdfScrypt:
		dk, err = scrypt.Key(pw, ks.salt, ks.n, ks.r, ks.p, dkLen)
	case kdfPBKDF2:
		dk, err = pbkdf2.Key(sha256.New, string(pw), ks.salt, ks.c, dkLen)
	default:
		err = fmt.Errorf("KDF %q", ks.kdf)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: deriving the decryption key: %v", ErrKeystoreMalformed, err)
	}
	return dk, nil
}

// kdfWork is the KDF's cost in rough scrypt-block units (fuzzing skips
// expensive inputs with it).
func (ks *parsedKeystore) kdfWork() int {
	if ks.kdf == kdfScrypt {
		return ks.n * ks.r * ks.p
	}
	return ks.c
}

// processPassword applies EIP-2335's password processing: NFKD, then drop
// the C0 (U+0000–U+001F), Delete (U+007F) and C1 (U+0080–U+009F) control
// codes. The result is UTF-8; the caller clears it.
func processPassword(password string) []byte {
	s := norm.NFKD.String(password)
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

func keystoreChecksum(dk, ciphertext []byte) []byte {
	h := sha256.New()
	h.Write(dk[16:32])
	h.Write(ciphertext)
	return h.Sum(nil)
}

func aesCTR(key, iv, in []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("signer: aes-128 key of 16 bytes refused: " + err.Error()) // broken invariant
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, iv).XORKeyStream(out, in)
	return out
}

func checkDKLen(n int) error {
	if n != dkLen {
		return fmt.Errorf("%w: crypto.kdf.params.dklen %d, want %d", ErrKeystoreMalformed, n, dkLen)
	}
	return nil
}

func unmarshalParams(raw json.RawMessage, v any) error {
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("missing or not an object")
	}
	return json.Unmarshal(raw, v)
}

// decodeHex decodes a hex field (no 0x) of lo to hi bytes.
func decodeHex(field, s string, lo, hi int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex (without 0x): %v", ErrKeystoreMalformed, field, err)
	}
	if len(b) < lo || len(b) > hi {
		want := fmt.Sprint(lo)
		if lo != hi {
			want = fmt.Sprintf("%d to %d", lo, hi)
		}
		return nil, fmt.Errorf("%w: %s is %d bytes, want %s", ErrKeystoreMalformed, field, len(b), want)
	}
	return b, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("signer: encoding keystore params: " + err.Error()) // plain structs
	}
	return b
}
