package chain

import (
	"encoding/binary"
	"fmt"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/signer"
)

// Transaction wire format, version 1. Every transaction starts with
// u8 version ‖ u8 type; integers are big-endian; decoding is strict (exact
// lengths, no trailing bytes), so a transaction has one encoding.
const (
	TxVersion = 1
	// MaxTxSize bounds a transaction; it fits the largest certificate.
	MaxTxSize = 128 << 10
	// MaxAddrs and MaxAddrLen bound a signer's network addresses.
	MaxAddrs   = 8
	MaxAddrLen = 256
)

// TxType is a transaction's second byte.
type TxType uint8

const (
	// TxRegister registers a signer or updates its addresses or stake.
	TxRegister TxType = 1
	// TxVRF submits a signer's VRF proof for the next epoch.
	TxVRF TxType = 2
	// TxCertificate submits a DA certificate.
	TxCertificate TxType = 3
	// TxDisperser registers a disperser or sets its quota (registrar only).
	TxDisperser TxType = 4
	// TxPoRA answers a proof-of-access challenge.
	TxPoRA TxType = 5
)

func (t TxType) String() string {
	switch t {
	case TxRegister:
		return "register"
	case TxVRF:
		return "vrf"
	case TxCertificate:
		return "certificate"
	case TxDisperser:
		return "disperser"
	case TxPoRA:
		return "pora"
	}
	return fmt.Sprintf("type %d", uint8(t))
}

// Tx is one of *RegisterTx, *VRFTx, *CertificateTx, *DisperserTx, *PoRATx.
type Tx interface {
	Type() TxType
	appendTo(b []byte) []byte
}

// RegisterTx registers PubKey (Nonce 1, with the registrar's signature and a
// proof of possession) or updates it (Nonce = the registered nonce + 1).
// Changing Stake needs the registrar's signature; addresses do not. Sig is
// PubKey's signature, and RegistrarSig the registrar's, over SignBytes.
//
//	body = 1 ‖ 1 ‖ pubkey[48] ‖ pop[96] ‖ u64 stake ‖ u64 nonce ‖
//	       u8 n ‖ n × (u16 len ‖ addr)
//	tx   = body ‖ sig[96] ‖ u8 has_registrar ‖ [registrar_sig[96]]
type RegisterTx struct {
	PubKey       da.PublicKey
	PoP          da.Signature
	Stake        uint64
	Nonce        uint64
	Addrs        []string
	Sig          da.Signature
	RegistrarSig *da.Signature
}

// Type implements Tx.
func (*RegisterTx) Type() TxType { return TxRegister }

func (t *RegisterTx) appendBody(b []byte) []byte {
	b = append(b, TxVersion, byte(TxRegister))
	b = append(b, t.PubKey[:]...)
	b = append(b, t.PoP[:]...)
	b = binary.BigEndian.AppendUint64(b, t.Stake)
	b = binary.BigEndian.AppendUint64(b, t.Nonce)
	b = append(b, byte(len(t.Addrs)))
	for _, a := range t.Addrs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(a)))
		b = append(b, a...)
	}
	return b
}

func (t *RegisterTx) appendTo(b []byte) []byte {
	b = t.appendBody(b)
	b = append(b, t.Sig[:]...)
	if t.RegistrarSig == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	return append(b, t.RegistrarSig[:]...)
}

// SignBytes is what the signer and the registrar sign:
// "zgda/v1/tx/register" ‖ u16 len(chain_id) ‖ chain_id ‖ body.
func (t *RegisterTx) SignBytes(chainID string) []byte {
	const prefix = "zgda/v1/tx/register"
	b := make([]byte, 0, len(prefix)+2+len(chainID)+256)
	b = append(b, prefix...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(chainID)))
	b = append(b, chainID...)
	return t.appendBody(b)
}

// VRFTx submits PubKey's VRF proof for Epoch; the proof authenticates it.
//
//	tx = 1 ‖ 2 ‖ pubkey[48] ‖ u64 epoch ‖ proof[96]
type VRFTx struct {
	PubKey da.PublicKey
	Epoch  uint64
	Proof  da.Signature
}

// Type implements Tx.
func (*VRFTx) Type() TxType { return TxVRF }

func (t *VRFTx) appendTo(b []byte) []byte {
	b = append(b, TxVersion, byte(TxVRF))
	b = append(b, t.PubKey[:]...)
	b = binary.BigEndian.AppendUint64(b, t.Epoch)
	return append(b, t.Proof[:]...)
}

// CertificateTx submits a certificate; its aggregate signature authenticates it.
//
//	tx = 1 ‖ 3 ‖ certificate (da codec)
type CertificateTx struct {
	Cert da.Certificate
}

// Type implements Tx.
func (*CertificateTx) Type() TxType { return TxCertificate }

func (t *CertificateTx) appendTo(b []byte) []byte {
	b = append(b, TxVersion, byte(TxCertificate))
	out, err := t.Cert.AppendBinary(b)
	if err != nil {
		panic("chain: encoding an unchecked certificate: " + err.Error())
	}
	return out
}

// EncodeTx encodes tx. A *CertificateTx must hold a certificate that encodes
// (NewCertificateTx checks).
func EncodeTx(tx Tx) []byte { return tx.appendTo(nil) }

const vrfTxSize = 2 + da.PublicKeySize + 8 + da.SignatureSize

// DecodeTx decodes a transaction. Errors wrap ErrTxTooLarge or ErrMalformedTx
// and say what is wrong.
func DecodeTx(b []byte) (Tx, error) {
	if len(b) > MaxTxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d allowed", ErrTxTooLarge, len(b), MaxTxSize)
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, too short for the version and type", ErrMalformedTx, len(b))
	}
	if b[0] != TxVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrMalformedTx, b[0], TxVersion)
	}
	switch TxType(b[1]) {
	case TxRegister:
		return decodeRegister(b)
	case TxVRF:
		if len(b) != vrfTxSize {
			return nil, fmt.Errorf("%w: vrf transaction of %d bytes, want %d", ErrMalformedTx, len(b), vrfTxSize)
		}
		t := &VRFTx{}
		p := b[2:]
		copy(t.PubKey[:], p)
		p = p[da.PublicKeySize:]
		t.Epoch = binary.BigEndian.Uint64(p)
		copy(t.Proof[:], p[8:])
		return t, nil
	case TxCertificate:
		t := &CertificateTx{}
		if err := t.Cert.UnmarshalBinary(b[2:]); err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", ErrMalformedTx, err)
		}
		return t, nil
	case TxDisperser:
		return decodeDisperser(b)
	case TxPoRA:
		return decodePoRA(b)
	}
	return nil, fmt.Errorf("%w: unknown transaction type %d", ErrMalformedTx, b[1])
}

func decodeRegister(b []byte) (*RegisterTx, error) {
	const fixed = 2 + da.PublicKeySize + da.SignatureSize + 8 + 8 + 1
	if len(b) < fixed {
		return nil, fmt.Errorf("%w: register transaction truncated (%d bytes)", ErrMalformedTx, len(b))
	}
	t := &RegisterTx{}
	p := b[2:]
	copy(t.PubKey[:], p)
	p = p[da.PublicKeySize:]
	copy(t.PoP[:], p)
	p = p[da.SignatureSize:]
	t.Stake = binary.BigEndian.Uint64(p)
	t.Nonce = binary.BigEndian.Uint64(p[8:])
	n := int(p[16])
	p = p[17:]
	if n > MaxAddrs {
		return nil, fmt.Errorf("%w: %d addresses, at most %d allowed", ErrMalformedTx, n, MaxAddrs)
	}
	for i := 0; i < n; i++ {
		if len(p) < 2 {
			return nil, fmt.Errorf("%w: register transaction truncated in address %d", ErrMalformedTx, i)
		}
		l := int(binary.BigEndian.Uint16(p))
		if l == 0 || l > MaxAddrLen || len(p) < 2+l {
			return nil, fmt.Errorf("%w: address %d: length %d (want 1 to %d, %d bytes left)", ErrMalformedTx, i, l, MaxAddrLen, len(p)-2)
		}
		t.Addrs = append(t.Addrs, string(p[2:2+l]))
		p = p[2+l:]
	}
	if err := validateAddrs(t.Addrs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedTx, err)
	}
	if len(p) < da.SignatureSize+1 {
		return nil, fmt.Errorf("%w: register transaction truncated in its signatures", ErrMalformedTx)
	}
	copy(t.Sig[:], p)
	p = p[da.SignatureSize:]
	switch {
	case p[0] == 0 && len(p) == 1:
	case p[0] == 1 && len(p) == 1+da.SignatureSize:
		var rs da.Signature
		copy(rs[:], p[1:])
		t.RegistrarSig = &rs
	default:
		return nil, fmt.Errorf("%w: register transaction: registrar flag %d with %d bytes after it", ErrMalformedTx, p[0], len(p)-1)
	}
	return t, nil
}

// NewRegisterTx builds and signs a registration (nonce 1, registrar required)
// or an update of key's record. registrar may be nil for updates that keep
// the stake.
func NewRegisterTx(chainID string, key *signer.Key, stake, nonce uint64, addrs []string, registrar *signer.Key) ([]byte, error) {
	if err := validateAddrs(addrs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedTx, err)
	}
	t := &RegisterTx{
		PubKey: key.PublicKey().Bytes(),
		PoP:    key.ProvePossession().Bytes(),
		Stake:  stake,
		Nonce:  nonce,
		Addrs:  addrs,
	}
	msg := t.SignBytes(chainID)
	t.Sig = key.Sign(msg).Bytes()
	if registrar != nil {
		rs := registrar.Sign(msg).Bytes()
		t.RegistrarSig = &rs
	}
	return EncodeTx(t), nil
}

// NewVRFTx computes key's VRF proof for epoch (whose seed is seed) and wraps it.
func NewVRFTx(chainID string, key *signer.Key, epoch uint64, seed da.Hash) []byte {
	_, proof := key.VRF(chainID, epoch, seed)
	return EncodeTx(&VRFTx{PubKey: key.PublicKey().Bytes(), Epoch: epoch, Proof: proof})
}

// NewCertificateTx wraps c after checking that it encodes within the limits.
func NewCertificateTx(c *da.Certificate) ([]byte, error) {
	b := make([]byte, 2, 2+c.EncodedSize())
	b[0], b[1] = TxVersion, byte(TxCertificate)
	out, err := c.AppendBinary(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedTx, err)
	}
	return out, nil
}
