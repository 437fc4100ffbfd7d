package chain

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/signer"
)

// The disperser registry (docs/spec.md §6 Dispersers): DA nodes accept
// dispersals only from a registered disperser, identified by the ed25519
// key of its libp2p identity, and only up to its quota of data-row bytes per
// epoch. Only the registrar registers dispersers and sets their quotas.

// DisperserKeySize is the length of a disperser's key: a raw ed25519 public
// key, the one behind its libp2p peer id.
const DisperserKeySize = 32

// DisperserKey is a disperser's ed25519 public key; its text form is 0x and
// 64 hex digits.
type DisperserKey [DisperserKeySize]byte

func (k DisperserKey) String() string { return "0x" + hex.EncodeToString(k[:]) }

// MarshalText implements encoding.TextMarshaler.
func (k DisperserKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: 0x and 64 hex digits.
func (k *DisperserKey) UnmarshalText(b []byte) error {
	s := string(b)
	if !strings.HasPrefix(s, "0x") || len(s) != 2+2*DisperserKeySize {
		return fmt.Errorf("disperser key %q: want 0x and %d hex digits", s, 2*DisperserKeySize)
	}
	if _, err := hex.Decode(k[:], []byte(s[2:])); err != nil {
		return fmt.Errorf("disperser key %q: %v", s, err)
	}
	return nil
}

// DisperserInfo is a registered disperser. Quota 0 means revoked.
type DisperserInfo struct {
	PubKey DisperserKey `json:"pubkey"`
	// Quota: data-row bytes (D × 131,072 per batch) the disperser may have
	// each DA node store per epoch.
	Quota uint64 `json:"quota"`
	// Nonce is the last registration's nonce (0 for genesis dispersers).
	Nonce uint64 `json:"nonce"`
}

// GenesisDisperser is a disperser registered at genesis.
type GenesisDisperser struct {
	PubKey DisperserKey `json:"pubkey"`
	Quota  uint64       `json:"quota"`
}

func keyDisperser(k DisperserKey) []byte { return append([]byte("d/"), k[:]...) }

const disperserRecordSize = 16

func (d *DisperserInfo) marshal() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, disperserRecordSize), d.Quota)
	return binary.BigEndian.AppendUint64(b, d.Nonce)
}

func (d *DisperserInfo) unmarshal(k DisperserKey, b []byte) error {
	if len(b) != disperserRecordSize {
		return fmt.Errorf("%w: disperser record %s of %d bytes", ErrInternal, k, len(b))
	}
	d.PubKey = k
	d.Quota = binary.BigEndian.Uint64(b)
	d.Nonce = binary.BigEndian.Uint64(b[8:])
	return nil
}

// DisperserTx registers a disperser or sets its quota (0 revokes it). It
// needs the registrar's signature over SignBytes, and Nonce = the stored
// nonce + 1 (1 for a new key), so that an old quota cannot be replayed.
//
//	body = 1 ‖ 4 ‖ pubkey[32] ‖ u64 quota ‖ u64 nonce
//	tx   = body ‖ registrar_sig[96]
type DisperserTx struct {
	PubKey       DisperserKey
	Quota        uint64
	Nonce        uint64
	RegistrarSig da.Signature
}

const disperserTxSize = 2 + DisperserKeySize + 8 + 8 + da.SignatureSize

// Type implements Tx.
func (*DisperserTx) Type() TxType { return TxDisperser }

func (t *DisperserTx) appendBody(b []byte) []byte {
	b = append(b, TxVersion, byte(TxDisperser))
	b = append(b, t.PubKey[:]...)
	b = binary.BigEndian.AppendUint64(b, t.Quota)
	return binary.BigEndian.AppendUint64(b, t.Nonce)
}

func (t *DisperserTx) appendTo(b []byte) []byte {
	return append(t.appendBody(b), t.RegistrarSig[:]...)
}

// SignBytes is what the registrar signs:
// "zgda/v2/tx/disperser" ‖ u16 len(chain_id) ‖ chain_id ‖ body.
func (t *DisperserTx) SignBytes(chainID string) []byte {
	const prefix = "zgda/v2/tx/disperser"
	b := make([]byte, 0, len(prefix)+2+len(chainID)+disperserTxSize)
	b = append(b, prefix...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(chainID)))
	b = append(b, chainID...)
	return t.appendBody(b)
}

func decodeDisperser(b []byte) (*DisperserTx, error) {
	if len(b) != disperserTxSize {
		return nil, fmt.Errorf("%w: disperser transaction of %d bytes, want %d", ErrMalformedTx, len(b), disperserTxSize)
	}
	t := &DisperserTx{}
	p := b[2:]
	copy(t.PubKey[:], p)
	p = p[DisperserKeySize:]
	t.Quota = binary.BigEndian.Uint64(p)
	t.Nonce = binary.BigEndian.Uint64(p[8:])
	copy(t.RegistrarSig[:], p[16:])
	return t, nil
}

// NewDisperserTx builds a registration of key with quota (0 revokes it) at
// nonce, signed by the registrar.
func NewDisperserTx(chainID string, key DisperserKey, quota, nonce uint64, registrar *signer.Key) []byte {
	t := &DisperserTx{PubKey: key, Quota: quota, Nonce: nonce}
	t.RegistrarSig = registrar.Sign(t.SignBytes(chainID)).Bytes()
	return EncodeTx(t)
}

func (a *App) execDisperser(v view, t *DisperserTx, check bool) error {
	if a.registrar == nil {
		return fmt.Errorf("%w: registering a disperser needs the registrar's signature, and genesis names no registrar", ErrUnauthorized)
	}
	if rs, err := signer.ParseSignature(t.RegistrarSig[:]); err != nil || !a.registrar.Verify(t.SignBytes(a.chainID), rs) {
		return fmt.Errorf("%w: disperser %s: the registrar's signature does not verify", ErrBadSignature, t.PubKey)
	}
	cur, err := stateReader{v}.disperser(t.PubKey)
	if err != nil {
		return err
	}
	want := uint64(1)
	if cur != nil {
		want = cur.Nonce + 1
	}
	if t.Nonce != want {
		return fmt.Errorf("%w: disperser %s: nonce %d, want %d (replayed or out of order)", ErrBadNonce, t.PubKey, t.Nonce, want)
	}
	if check {
		return nil
	}
	rec := DisperserInfo{PubKey: t.PubKey, Quota: t.Quota, Nonce: t.Nonce}
	v.set(keyDisperser(t.PubKey), rec.marshal())
	return nil
}

// disperser reads k's record (nil when k was never registered).
func (r stateReader) disperser(k DisperserKey) (*DisperserInfo, error) {
	b, err := r.v.get(keyDisperser(k))
	if err != nil || b == nil {
		return nil, err
	}
	d := &DisperserInfo{}
	return d, d.unmarshal(k, b)
}

// RegisterDisperser submits the registrar's registration of key with quota
// (0 revokes it) at the key's next nonce, read from the chain, and returns
// that nonce with the transaction's result.
func RegisterDisperser(ctx context.Context, cl Client, key DisperserKey, quota uint64, registrar *signer.Key) (uint64, *TxResult, error) {
	nonce := uint64(1)
	switch cur, err := cl.Disperser(ctx, key); {
	case err == nil:
		nonce = cur.Nonce + 1
	case !IsNotFound(err):
		return 0, nil, err
	}
	res, err := cl.Submit(ctx, NewDisperserTx(cl.ChainID(), key, quota, nonce, registrar))
	if err == nil {
		err = res.Err()
	}
	return nonce, res, err
}
