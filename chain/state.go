package chain

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/zgda/zgda/da"
)

// State layout (keys → values), all written through the store:
//
//	p                       params (JSON)
//	g/base                  u64 the genesis initial height
//	g/epochs_pruned         u64 the first epoch whose records are not yet pruned
//	r                       registrar public key [48] (absent: none)
//	n                       u32 number of registered signers
//	s/ u32 index            signer record
//	k/ pubkey[48]           u32 index
//	e/ u64 epoch            epoch record (seed; quorums once started)
//	v/ u64 epoch u32 index  VRF output [32] submitted for that epoch
//	t/ u64 epoch            u32 signers registered when the epoch's seed was
//	                        fixed (indices below it may submit VRF outputs)
//	o/ u64 epoch u32 index  u64 the signer's stake when the epoch's seed was
//	                        fixed, kept from its first stake change after
//	                        that until the epoch starts
//	d/ pubkey[32]           disperser record: u64 quota ‖ u64 nonce
//	c/ batch_root[32]       certificate record
//	b/ blob_key[32]         blob location of the key's most recently recorded
//	                        batch: batch_root[32] ‖ u32 index ‖ u32 offset ‖
//	                        u32 rows ‖ u64 height ‖ u64 certificate epoch
var (
	keyParams    = []byte("p")
	keyBase      = []byte("g/base")
	keyRegistrar = []byte("r")
	keyCount     = []byte("n")
)

func keySigner(i uint32) []byte { return binary.BigEndian.AppendUint32([]byte("s/"), i) }
func keyPubKey(pk da.PublicKey) []byte {
	return append([]byte("k/"), pk[:]...)
}
func keyEpoch(e uint64) []byte { return binary.BigEndian.AppendUint64([]byte("e/"), e) }
func prefixVRF(e uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("v/"), e)
}
func keyVRF(e uint64, i uint32) []byte { return binary.BigEndian.AppendUint32(prefixVRF(e), i) }
func keySeedSigners(e uint64) []byte   { return binary.BigEndian.AppendUint64([]byte("t/"), e) }
func prefixSeedStake(e uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("o/"), e)
}
func keySeedStake(e uint64, i uint32) []byte {
	return binary.BigEndian.AppendUint32(prefixSeedStake(e), i)
}
func keyCert(root da.Hash) []byte { return append([]byte("c/"), root[:]...) }
func keyBlob(k da.BlobKey) []byte { return append([]byte("b/"), k[:]...) }

// SignerInfo is a registered signer.
type SignerInfo struct {
	Index  uint32       `json:"index"`
	PubKey da.PublicKey `json:"pubkey"`
	PoP    da.Signature `json:"pop"`
	Stake  uint64       `json:"stake"`
	// Nonce is the last registration nonce (0 for genesis signers); the
	// next update must carry Nonce+1.
	Nonce uint64   `json:"nonce"`
	Addrs []string `json:"addrs"`
}

func (s *SignerInfo) marshal() []byte {
	b := make([]byte, 0, 48+96+17+len(s.Addrs)*64)
	b = append(b, s.PubKey[:]...)
	b = append(b, s.PoP[:]...)
	b = binary.BigEndian.AppendUint64(b, s.Stake)
	b = binary.BigEndian.AppendUint64(b, s.Nonce)
	b = append(b, byte(len(s.Addrs)))
	for _, a := range s.Addrs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(a)))
		b = append(b, a...)
	}
	return b
}

func (s *SignerInfo) unmarshal(idx uint32, b []byte) error {
	const fixed = 48 + 96 + 17
	if len(b) < fixed {
		return fmt.Errorf("%w: signer record %d truncated", ErrInternal, idx)
	}
	s.Index = idx
	copy(s.PubKey[:], b)
	copy(s.PoP[:], b[48:])
	s.Stake = binary.BigEndian.Uint64(b[144:])
	s.Nonce = binary.BigEndian.Uint64(b[152:])
	n := int(b[160])
	p := b[fixed:]
	s.Addrs = make([]string, 0, n)
	for i := 0; i < n; i++ {
		if len(p) < 2 || len(p) < 2+int(binary.BigEndian.Uint16(p)) {
			return fmt.Errorf("%w: signer record %d truncated", ErrInternal, idx)
		}
		l := int(binary.BigEndian.Uint16(p))
		s.Addrs = append(s.Addrs, string(p[2:2+l]))
		p = p[2+l:]
	}
	return nil
}

// VRFRecord is a VRF output submitted for an epoch.
type VRFRecord struct {
	Signer uint32  `json:"signer"`
	Output da.Hash `json:"output"`
}

// EpochInfo is an epoch: its seed, and once it has started, its quorums.
// The next epoch's record exists (seed known, not started) from the first
// block of the current one: that is when VRF outputs for it are accepted.
type EpochInfo struct {
	Epoch uint64  `json:"epoch"`
	Seed  da.Hash `json:"seed"`
	// Started: the quorums are fixed.
	Started bool `json:"started"`
	// StartHeight is the epoch's first block; EndHeight its last.
	StartHeight int64 `json:"start_height"`
	EndHeight   int64 `json:"end_height"`
	// Quorums, each mapping slot → signer index (empty before the start, or
	// when no VRF output with ballots was submitted).
	Quorums []da.Quorum `json:"quorums"`
	// VRFs submitted for this epoch (from genesis for epoch 0).
	VRFs []VRFRecord `json:"vrfs"`
}

// epochRecord is what the state stores per epoch (VRFs are separate keys).
type epochRecord struct {
	seed    da.Hash
	started bool
	m       uint32
	quorums []da.Quorum
}

func (r *epochRecord) marshal() []byte {
	b := make([]byte, 0, 32+1+8+len(r.quorums)*int(r.m)*4)
	b = append(b, r.seed[:]...)
	if r.started {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint32(b, r.m)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.quorums)))
	for _, q := range r.quorums {
		for _, s := range q {
			b = binary.BigEndian.AppendUint32(b, s)
		}
	}
	return b
}

func (r *epochRecord) unmarshal(b []byte) error {
	if len(b) < 41 {
		return fmt.Errorf("%w: epoch record truncated", ErrInternal)
	}
	copy(r.seed[:], b)
	r.started = b[32] == 1
	r.m = binary.BigEndian.Uint32(b[33:])
	nq := int(binary.BigEndian.Uint32(b[37:]))
	p := b[41:]
	if len(p) != nq*int(r.m)*4 {
		return fmt.Errorf("%w: epoch record of %d quorum bytes, want %d", ErrInternal, len(p), nq*int(r.m)*4)
	}
	r.quorums = make([]da.Quorum, nq)
	for i := range r.quorums {
		q := make(da.Quorum, r.m)
		for s := range q {
			q[s] = binary.BigEndian.Uint32(p)
			p = p[4:]
		}
		r.quorums[i] = q
	}
	return nil
}

// CertificateRecord is a recorded certificate and the block that took it.
type CertificateRecord struct {
	Certificate da.Certificate `json:"certificate"`
	Height      int64          `json:"height"`
}

// BlobLocation is a blob key's batch (docs/spec.md §6): the most recently
// recorded batch that names the key, the key's position in it (Index), its
// first matrix row (Offset = Σ R of the blobs before it), its R (Rows) and
// the height of the block that recorded the certificate.
type BlobLocation struct {
	BatchRoot da.Hash `json:"batch_root"`
	Index     int     `json:"index"`
	Offset    int     `json:"offset"`
	Rows      uint32  `json:"rows"`
	Height    int64   `json:"height"`
}

// blobLocationSize is the stored form's length: the location and the
// certificate's epoch (for the availability window).
const blobLocationSize = 32 + 4 + 4 + 4 + 8 + 8

func marshalBlobLocation(l *BlobLocation, epoch uint64) []byte {
	b := make([]byte, 0, blobLocationSize)
	b = append(b, l.BatchRoot[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(l.Index))
	b = binary.BigEndian.AppendUint32(b, uint32(l.Offset))
	b = binary.BigEndian.AppendUint32(b, l.Rows)
	b = binary.BigEndian.AppendUint64(b, uint64(l.Height))
	return binary.BigEndian.AppendUint64(b, epoch)
}

func unmarshalBlobLocation(b []byte) (*BlobLocation, uint64, error) {
	if len(b) != blobLocationSize {
		return nil, 0, fmt.Errorf("%w: blob location of %d bytes, want %d", ErrInternal, len(b), blobLocationSize)
	}
	l := &BlobLocation{
		BatchRoot: da.Hash(b[:32]),
		Index:     int(binary.BigEndian.Uint32(b[32:])),
		Offset:    int(binary.BigEndian.Uint32(b[36:])),
		Rows:      binary.BigEndian.Uint32(b[40:]),
		Height:    int64(binary.BigEndian.Uint64(b[44:])),
	}
	return l, binary.BigEndian.Uint64(b[52:]), nil
}

func marshalCertRecord(c *da.Certificate, height int64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+c.EncodedSize()), uint64(height))
	out, err := c.AppendBinary(b)
	if err != nil {
		panic("chain: recording a certificate that does not encode: " + err.Error())
	}
	return out
}

func unmarshalCertRecord(b []byte) (*CertificateRecord, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: certificate record truncated", ErrInternal)
	}
	r := &CertificateRecord{Height: int64(binary.BigEndian.Uint64(b))}
	if err := r.Certificate.UnmarshalBinary(b[8:]); err != nil {
		return nil, fmt.Errorf("%w: certificate record: %v", ErrInternal, err)
	}
	return r, nil
}

// AppStatus is the app's view of the chain at its last committed block.
type AppStatus struct {
	ChainID string `json:"chain_id"`
	Height  int64  `json:"height"`
	AppHash string `json:"app_hash"`
	// Epoch is the epoch of the last committed block. Epoch+1's seed is
	// known, and VRF outputs for it are accepted in blocks before
	// NextEpochHeight, its first block.
	Epoch           uint64 `json:"epoch"`
	NextEpochHeight int64  `json:"next_epoch_height"`
	Signers         uint32 `json:"signers"`
	Params          Params `json:"params"`
}

// stateReader reads typed records through a view.
type stateReader struct{ v view }

func (r stateReader) params() (Params, error) {
	b, err := r.v.get(keyParams)
	if err != nil {
		return Params{}, err
	}
	if b == nil {
		return Params{}, fmt.Errorf("%w: chain not initialized (no params)", ErrInternal)
	}
	var p Params
	if err := json.Unmarshal(b, &p); err != nil {
		return Params{}, fmt.Errorf("%w: params: %v", ErrInternal, err)
	}
	return p, nil
}

func (r stateReader) u64(k []byte) (uint64, error) {
	b, err := r.v.get(k)
	if err != nil || b == nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: %q is not a u64", ErrInternal, k)
	}
	return binary.BigEndian.Uint64(b), nil
}

func (r stateReader) count() (uint32, error) {
	b, err := r.v.get(keyCount)
	if err != nil || b == nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

// signerIndex returns pk's index, or ok == false.
func (r stateReader) signerIndex(pk da.PublicKey) (uint32, bool, error) {
	b, err := r.v.get(keyPubKey(pk))
	if err != nil || b == nil {
		return 0, false, err
	}
	return binary.BigEndian.Uint32(b), true, nil
}

func (r stateReader) signer(i uint32) (*SignerInfo, error) {
	b, err := r.v.get(keySigner(i))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%w: signer %d", ErrUnknownSigner, i)
	}
	s := new(SignerInfo)
	return s, s.unmarshal(i, b)
}

func (r stateReader) epoch(e uint64) (*epochRecord, error) {
	b, err := r.v.get(keyEpoch(e))
	if err != nil || b == nil {
		return nil, err
	}
	rec := new(epochRecord)
	return rec, rec.unmarshal(b)
}

func (r stateReader) vrfs(e uint64) ([]VRFRecord, error) {
	var out []VRFRecord
	p := prefixVRF(e)
	err := r.v.scan(p, func(k, v []byte) error {
		if len(k) != len(p)+4 || len(v) != 32 {
			return fmt.Errorf("%w: VRF record %x", ErrInternal, k)
		}
		var rec VRFRecord
		rec.Signer = binary.BigEndian.Uint32(k[len(p):])
		copy(rec.Output[:], v)
		out = append(out, rec)
		return nil
	})
	return out, err
}

// seedSigners returns how many signers were registered when epoch e's seed
// was fixed (ok == false for an epoch whose seed is not fixed).
func (r stateReader) seedSigners(e uint64) (n uint32, ok bool, err error) {
	b, err := r.v.get(keySeedSigners(e))
	if err != nil || b == nil {
		return 0, false, err
	}
	if len(b) != 4 {
		return 0, false, fmt.Errorf("%w: registry snapshot of epoch %d is not a u32", ErrInternal, e)
	}
	return binary.BigEndian.Uint32(b), true, nil
}

// seedStakes returns the stakes kept for epoch e (signers whose stake
// changed after e's seed was fixed), by signer index.
func (r stateReader) seedStakes(e uint64) (map[uint32]uint64, error) {
	out := map[uint32]uint64{}
	p := prefixSeedStake(e)
	err := r.v.scan(p, func(k, v []byte) error {
		if len(k) != len(p)+4 || len(v) != 8 {
			return fmt.Errorf("%w: stake snapshot record %x", ErrInternal, k)
		}
		out[binary.BigEndian.Uint32(k[len(p):])] = binary.BigEndian.Uint64(v)
		return nil
	})
	return out, err
}

// blob returns a key's location and its certificate's epoch (nil if the key
// was never certified).
func (r stateReader) blob(k da.BlobKey) (*BlobLocation, uint64, error) {
	b, err := r.v.get(keyBlob(k))
	if err != nil || b == nil {
		return nil, 0, err
	}
	return unmarshalBlobLocation(b)
}

func (r stateReader) cert(root da.Hash) (*CertificateRecord, error) {
	b, err := r.v.get(keyCert(root))
	if err != nil || b == nil {
		return nil, err
	}
	return unmarshalCertRecord(b)
}

func putU64(v view, k []byte, x uint64) { v.set(k, binary.BigEndian.AppendUint64(nil, x)) }
func putU32(v view, k []byte, x uint32) { v.set(k, binary.BigEndian.AppendUint32(nil, x)) }
