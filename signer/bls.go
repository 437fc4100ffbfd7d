package signer

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/zgda/zgda/da"
)

// Domain separation tags of the proof-of-possession ciphersuite.
const (
	SignatureDST  = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
	PossessionDST = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
)

// Sizes of the serialized forms.
const (
	SecretKeySize = 32
	PublicKeySize = da.PublicKeySize
	SignatureSize = da.SignatureSize
)

var (
	sigDST = []byte(SignatureDST)
	popDST = []byte(PossessionDST)
)

// Key is a BLS secret key with its public key.
type Key struct {
	sk blst.SecretKey
	pk PublicKey
}

// GenerateKey derives a fresh key from 32 bytes of r (crypto/rand when r is
// nil) with the IETF KeyGen.
func GenerateKey(r io.Reader) (*Key, error) {
	if r == nil {
		r = rand.Reader
	}
	ikm := make([]byte, 32)
	if _, err := io.ReadFull(r, ikm); err != nil {
		return nil, fmt.Errorf("signer: reading key material: %w", err)
	}
	defer clear(ikm)
	return KeyFromSeed(ikm)
}

// KeyFromSeed derives a key deterministically from at least 32 bytes of
// input keying material (IETF KeyGen). Tests use it for reproducible keys.
func KeyFromSeed(ikm []byte) (*Key, error) {
	if len(ikm) < 32 {
		return nil, fmt.Errorf("%w: key seed of %d bytes, want at least 32", ErrInvalidSecretKey, len(ikm))
	}
	sk := blst.KeyGen(ikm)
	if sk == nil {
		return nil, ErrInvalidSecretKey
	}
	return newKey(sk), nil
}

// ParseSecretKey parses a 32-byte big-endian secret scalar (0 < sk < r).
func ParseSecretKey(b []byte) (*Key, error) {
	if len(b) != SecretKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidSecretKey, len(b), SecretKeySize)
	}
	sk := new(blst.SecretKey).Deserialize(b)
	if sk == nil {
		return nil, fmt.Errorf("%w: zero or not below the group order", ErrInvalidSecretKey)
	}
	return newKey(sk), nil
}

func newKey(sk *blst.SecretKey) *Key {
	k := &Key{sk: *sk}
	sk.Zeroize()
	k.pk.p.From(&k.sk)
	copy(k.pk.raw[:], k.pk.p.Compress())
	return k
}

// Bytes returns the 32-byte secret scalar; the caller owns it and must keep
// it secret.
func (k *Key) Bytes() []byte { return k.sk.Serialize() }

// PublicKey returns k's public key (shared; do not modify).
func (k *Key) PublicKey() *PublicKey { return &k.pk }

// Sign signs msg with the signature DST.
func (k *Key) Sign(msg []byte) *Signature {
	s := new(Signature)
	s.s.Sign(&k.sk, msg, sigDST)
	copy(s.raw[:], s.s.Compress())
	return s
}

// ProvePossession signs k's compressed public key with the PoP DST.
func (k *Key) ProvePossession() *Signature {
	s := new(Signature)
	s.s.Sign(&k.sk, k.pk.raw[:], popDST)
	copy(s.raw[:], s.s.Compress())
	return s
}

// Zeroize overwrites the secret scalar; k must not be used afterwards.
func (k *Key) Zeroize() { k.sk.Zeroize() }

// PublicKey is a checked BLS public key: in G1's prime-order subgroup, not
// the identity.
type PublicKey struct {
	p   blst.P1Affine
	raw da.PublicKey
}

// ParsePublicKey parses a compressed 48-byte G1 point, refusing
// non-canonical encodings, the identity and points outside the subgroup.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidPublicKey, len(b), PublicKeySize)
	}
	pk := new(PublicKey)
	if pk.p.Uncompress(b) == nil {
		return nil, fmt.Errorf("%w: not a compressed G1 point", ErrInvalidPublicKey)
	}
	if !bytes.Equal(pk.p.Compress(), b) {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrInvalidPublicKey)
	}
	if !pk.p.KeyValidate() {
		return nil, fmt.Errorf("%w: identity or outside the prime-order subgroup", ErrInvalidPublicKey)
	}
	copy(pk.raw[:], b)
	return pk, nil
}

// Bytes is the compressed encoding.
func (pk *PublicKey) Bytes() da.PublicKey { return pk.raw }

// String is the 0x-hex of the compressed encoding.
func (pk *PublicKey) String() string { return pk.raw.String() }

// Equal reports whether pk and o are the same key.
func (pk *PublicKey) Equal(o *PublicKey) bool { return pk.raw == o.raw }

// Verify reports whether sig is pk's signature over msg.
func (pk *PublicKey) Verify(msg []byte, sig *Signature) bool {
	return sig.s.Verify(false, &pk.p, false, msg, sigDST)
}

// VerifyPossession reports whether pop is pk's proof of possession.
func (pk *PublicKey) VerifyPossession(pop *Signature) bool {
	return pop.s.Verify(false, &pk.p, false, pk.raw[:], popDST)
}

// Signature is a checked BLS signature: in G2's prime-order subgroup, not the
// identity.
type Signature struct {
	s   blst.P2Affine
	raw da.Signature
}

// ParseSignature parses a compressed 96-byte G2 point, refusing
// non-canonical encodings, the identity and points outside the subgroup.
func ParseSignature(b []byte) (*Signature, error) {
	if len(b) != SignatureSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidSignature, len(b), SignatureSize)
	}
	s := new(Signature)
	if s.s.Uncompress(b) == nil {
		return nil, fmt.Errorf("%w: not a compressed G2 point", ErrInvalidSignature)
	}
	if !bytes.Equal(s.s.Compress(), b) {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrInvalidSignature)
	}
	if !s.s.SigValidate(true) {
		return nil, fmt.Errorf("%w: identity or outside the prime-order subgroup", ErrInvalidSignature)
	}
	copy(s.raw[:], b)
	return s, nil
}

// Bytes is the compressed encoding.
func (s *Signature) Bytes() da.Signature { return s.raw }

// String is the 0x-hex of the compressed encoding.
func (s *Signature) String() string { return s.raw.String() }

// AggregateSignatures sums signatures (for one message, under
// FastAggregateVerify). The inputs are not modified.
func AggregateSignatures(sigs []*Signature) (*Signature, error) {
	if len(sigs) == 0 {
		return nil, ErrEmptyAggregate
	}
	var agg blst.P2Aggregate
	for _, s := range sigs {
		agg.Add(&s.s, false)
	}
	out := new(Signature)
	out.s = *agg.ToAffine()
	copy(out.raw[:], out.s.Compress())
	return out, nil
}

// AggregatePublicKeys sums public keys, all of which must carry a verified
// proof of possession. The inputs are not modified.
func AggregatePublicKeys(pks []*PublicKey) (*PublicKey, error) {
	if len(pks) == 0 {
		return nil, ErrEmptyAggregate
	}
	var agg blst.P1Aggregate
	for _, pk := range pks {
		agg.Add(&pk.p, false)
	}
	out := new(PublicKey)
	out.p = *agg.ToAffine()
	copy(out.raw[:], out.p.Compress())
	return out, nil
}

// FastAggregateVerify reports whether sig is the aggregate of the signatures
// of all of pks over msg. Every key must carry a verified proof of
// possession; that is what makes summing the keys safe.
func FastAggregateVerify(pks []*PublicKey, msg []byte, sig *Signature) bool {
	if len(pks) == 0 {
		return false
	}
	var agg blst.P1
	first := true
	for _, pk := range pks {
		if first {
			agg.FromAffine(&pk.p)
			first = false
			continue
		}
		agg.AddAssign(&pk.p)
	}
	return sig.s.Verify(false, agg.ToAffine(), false, msg, sigDST)
}
