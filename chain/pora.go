package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/signer"
)

// Proofs of random access (docs/spec.md §6 Proofs of random access). At the
// first block of every epoch e the chain challenges each signer c =
// params.pora_challenges times, from that block's hash (unknown until the
// block exists, unlike the epoch seed): a certified batch inside the
// availability window in which the signer holds a window slot, one of the
// dispersed rows of its slots, and a cell. The signer answers with the cell,
// its EIP-7594 proof and the batch header; the chain checks the header
// against the recorded certificate, derives the row's commitment from the
// blob commitments and verifies the proof. Answers within
// params.pora_deadline blocks of the epoch's start count "in time" and earn
// a point; later ones in the epoch count "late"; what is unanswered when the
// next epoch opens counts "missing"; wrong answers count "invalid" and leave
// the challenge open.
//
// State:
//
//	a/n                     u64 number of recorded batches
//	a/p                     u64 the first of them not pruned (pruneExpired)
//	a/ u64 seq              batch_root[32] ‖ u64 certificate epoch, in recording order
//	pc/ u64 e ‖ u32 s ‖ u32 k   challenge: batch_root[32] ‖ u32 row ‖ u16 cell ‖ u8 status
//	ps/ u64 e ‖ u32 s           score: 5 × u32 (challenged, in time, late, missing, invalid) ‖ u64 points
var (
	keyBatchCount  = []byte("a/n")
	keyBatchPruned = []byte("a/p")
)

func keyBatchSeq(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte("a/"), seq) }
func prefixChallenges(e uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("pc/"), e)
}
func keyChallenge(e uint64, s, k uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(prefixChallenges(e), s), k)
}
func prefixScores(e uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("ps/"), e)
}
func keyScore(e uint64, s uint32) []byte {
	return binary.BigEndian.AppendUint32(prefixScores(e), s)
}

// Challenge statuses.
const (
	PoRAPending uint8 = iota
	PoRAInTime
	PoRALate
	PoRAMissing
)

// Challenge is one proof-of-access challenge.
type Challenge struct {
	Epoch     uint64  `json:"epoch"`
	Signer    uint32  `json:"signer"`
	Index     uint32  `json:"index"`
	BatchRoot da.Hash `json:"batch_root"`
	Row       uint32  `json:"row"`
	Cell      uint16  `json:"cell"`
	// Status: 0 pending, 1 answered in time, 2 late, 3 missing.
	Status uint8 `json:"status"`
}

const challengeRecordSize = 32 + 4 + 2 + 1

func (c *Challenge) marshal() []byte {
	b := append(make([]byte, 0, challengeRecordSize), c.BatchRoot[:]...)
	b = binary.BigEndian.AppendUint32(b, c.Row)
	b = binary.BigEndian.AppendUint16(b, c.Cell)
	return append(b, c.Status)
}

func (c *Challenge) unmarshal(b []byte) error {
	if len(b) != challengeRecordSize {
		return fmt.Errorf("%w: challenge record of %d bytes", ErrInternal, len(b))
	}
	copy(c.BatchRoot[:], b)
	c.Row = binary.BigEndian.Uint32(b[32:])
	c.Cell = binary.BigEndian.Uint16(b[36:])
	c.Status = b[38]
	return nil
}

// Score is a signer's proof-of-access record for one epoch.
type Score struct {
	Epoch      uint64 `json:"epoch"`
	Signer     uint32 `json:"signer"`
	Challenged uint32 `json:"challenged"`
	InTime     uint32 `json:"in_time"`
	Late       uint32 `json:"late"`
	Missing    uint32 `json:"missing"`
	Invalid    uint32 `json:"invalid"`
	Points     uint64 `json:"points"`
}

const scoreRecordSize = 5*4 + 8

func (s *Score) marshal() []byte {
	b := make([]byte, 0, scoreRecordSize)
	for _, v := range []uint32{s.Challenged, s.InTime, s.Late, s.Missing, s.Invalid} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return binary.BigEndian.AppendUint64(b, s.Points)
}

func (s *Score) unmarshal(b []byte) error {
	if len(b) != scoreRecordSize {
		return fmt.Errorf("%w: score record of %d bytes", ErrInternal, len(b))
	}
	for i, p := range []*uint32{&s.Challenged, &s.InTime, &s.Late, &s.Missing, &s.Invalid} {
		*p = binary.BigEndian.Uint32(b[4*i:])
	}
	s.Points = binary.BigEndian.Uint64(b[20:])
	return nil
}

func (r stateReader) score(e uint64, s uint32) (*Score, error) {
	out := &Score{Epoch: e, Signer: s}
	b, err := r.v.get(keyScore(e, s))
	if err != nil || b == nil {
		return out, err
	}
	return out, out.unmarshal(b)
}

func (r stateReader) challenge(e uint64, s, k uint32) (*Challenge, error) {
	b, err := r.v.get(keyChallenge(e, s, k))
	if err != nil || b == nil {
		return nil, err
	}
	c := &Challenge{Epoch: e, Signer: s, Index: k}
	return c, c.unmarshal(b)
}

// recordBatch appends a recorded certificate's batch to the sequence
// challenges draw from.
func recordBatch(v view, root da.Hash, epoch uint64) error {
	n, err := stateReader{v}.u64(keyBatchCount)
	if err != nil {
		return err
	}
	v.set(keyBatchSeq(n), binary.BigEndian.AppendUint64(append([]byte(nil), root[:]...), epoch))
	putU64(v, keyBatchCount, n+1)
	return nil
}

func (r stateReader) batchAt(seq uint64) (da.Hash, uint64, error) {
	b, err := r.v.get(keyBatchSeq(seq))
	if err != nil {
		return da.Hash{}, 0, err
	}
	if len(b) != 40 {
		return da.Hash{}, 0, fmt.Errorf("%w: batch sequence record %d", ErrInternal, seq)
	}
	return da.Hash(b[:32]), binary.BigEndian.Uint64(b[32:]), nil
}

// poraTries bounds the draws for one challenge: a draw of a batch in which
// the signer holds no slot is redrawn.
const poraTries = 16

// openChallenges closes epoch e−1's challenges (unanswered: missing) and
// draws epoch e's from the hash of its first block (docs/spec.md §6).
func (a *App) openChallenges(v view, e uint64, blockHash da.Hash) error {
	r := stateReader{v}
	if e > 0 {
		var open []Challenge
		err := v.scan(prefixChallenges(e-1), func(k, val []byte) error {
			c := Challenge{Epoch: e - 1}
			if err := c.unmarshal(val); err != nil {
				return err
			}
			p := len(prefixChallenges(e - 1))
			c.Signer, c.Index = binary.BigEndian.Uint32(k[p:]), binary.BigEndian.Uint32(k[p+4:])
			if c.Status == PoRAPending {
				open = append(open, c)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range open {
			c.Status = PoRAMissing
			v.set(keyChallenge(c.Epoch, c.Signer, c.Index), c.marshal())
			sc, err := r.score(c.Epoch, c.Signer)
			if err != nil {
				return err
			}
			sc.Missing++
			v.set(keyScore(c.Epoch, c.Signer), sc.marshal())
		}
	}
	if a.params.PoRAChallenges == 0 {
		return nil
	}
	n, err := r.u64(keyBatchCount)
	if err != nil || n == 0 {
		return err
	}
	pruned, err := r.u64(keyBatchPruned)
	if err != nil {
		return err
	}
	// The batches inside the availability window: recording order follows
	// certificate epochs within cert_epoch_window, so search for the first
	// one recent enough and check each draw's epoch again.
	oldest := uint64(0)
	if w := a.params.AvailabilityEpochs; w != 0 && e > w {
		oldest = e - w
	}
	var searchErr error
	lo := pruned + uint64(sort.Search(int(n-pruned), func(i int) bool {
		_, ep, err := r.batchAt(pruned + uint64(i))
		if err != nil {
			searchErr = err
		}
		return ep+a.params.CertEpochWindow >= oldest
	}))
	if searchErr != nil {
		return searchErr
	}
	if lo >= n {
		return nil
	}
	signers, err := r.count()
	if err != nil {
		return err
	}
	drawn := map[uint64]*drawnBatch{} // every signer's draws share the batches' windows
	for s := range signers {
		sc := &Score{Epoch: e, Signer: s}
		for k := range a.params.PoRAChallenges {
			c, err := a.drawChallenge(r, e, s, k, blockHash, lo, n, oldest, drawn)
			if err != nil {
				return err
			}
			if c == nil {
				continue
			}
			v.set(keyChallenge(e, s, k), c.marshal())
			sc.Challenged++
		}
		if sc.Challenged > 0 {
			v.set(keyScore(e, s), sc.marshal())
		}
	}
	return nil
}

// drawnBatch is what a draw needs of sequence entry seq: its root, and its
// quorum and window (nil quorum: outside the availability window).
type drawnBatch struct {
	root da.Hash
	q    da.Quorum
	win  da.Window
}

// batchForDraw reads sequence entry seq once per epoch opening (memo).
func (a *App) batchForDraw(r stateReader, seq, oldest uint64, memo map[uint64]*drawnBatch) (*drawnBatch, error) {
	if b, ok := memo[seq]; ok {
		return b, nil
	}
	root, ep, err := r.batchAt(seq)
	if err != nil {
		return nil, err
	}
	b := &drawnBatch{root: root}
	memo[seq] = b
	if ep < oldest {
		return b, nil
	}
	rec, err := r.cert(root)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: batch %s in the sequence has no certificate", ErrInternal, root)
	}
	cert := &rec.Certificate
	qs, err := a.epochQuorums(r, cert.Epoch)
	if err != nil {
		return nil, err
	}
	if b.win, err = da.NewWindow(cert.BatchRoot, cert.DispersedRows(), int(a.params.MinBatchSlots), int(a.params.QuorumSize)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInternal, err)
	}
	b.q = qs[cert.Quorum].q
	return b, nil
}

// drawChallenge draws challenge k of signer s, or nil when poraTries draws
// found no batch in the window with a slot of s.
func (a *App) drawChallenge(r stateReader, e uint64, s, k uint32, blockHash da.Hash, lo, n, oldest uint64, memo map[uint64]*drawnBatch) (*Challenge, error) {
	for try := range uint32(poraTries) {
		h := sha256.New()
		h.Write([]byte("zgda/v2/pora"))
		h.Write(blockHash[:])
		var b [12]byte
		binary.BigEndian.PutUint32(b[:], s)
		binary.BigEndian.PutUint32(b[4:], k)
		binary.BigEndian.PutUint32(b[8:], try)
		h.Write(b[:])
		d := h.Sum(nil)
		seq := lo + binary.BigEndian.Uint64(d)%(n-lo)
		bt, err := a.batchForDraw(r, seq, oldest, memo)
		if err != nil {
			return nil, err
		}
		if bt.q == nil {
			continue
		}
		root := bt.root
		rows := bt.q.RowsOf(bt.win, s)
		if len(rows) == 0 {
			continue
		}
		return &Challenge{Epoch: e, Signer: s, Index: k, BatchRoot: root,
			Row:  rows[binary.BigEndian.Uint64(d[8:])%uint64(len(rows))],
			Cell: uint16(binary.BigEndian.Uint16(d[16:]) % da.CellsPerRow)}, nil
	}
	return nil, nil
}

// PoRATx answers challenge Index of Signer for Epoch with the cell, its
// proof and the batch header (the chain records only keys and R).
//
//	body = 1 ‖ 5 ‖ u32 signer ‖ u64 epoch ‖ u32 index ‖ u32 hlen ‖ batch_header[hlen] ‖ cell[2048] ‖ proof[48]
//	tx   = body ‖ sig[96]   (the signer's BLS signature over "zgda/v2/tx/pora" ‖ u16 len(chain_id) ‖ chain_id ‖ body)
type PoRATx struct {
	Signer uint32
	Epoch  uint64
	Index  uint32
	Header da.BatchHeader
	Cell   [da.CellSize]byte
	Proof  [da.ProofSize]byte
	Sig    da.Signature
}

// Type implements Tx.
func (*PoRATx) Type() TxType { return TxPoRA }

func (t *PoRATx) appendBody(b []byte) []byte {
	hdr, err := t.Header.MarshalBinary()
	if err != nil {
		panic("chain: encoding an unchecked batch header: " + err.Error())
	}
	b = append(b, TxVersion, byte(TxPoRA))
	b = binary.BigEndian.AppendUint32(b, t.Signer)
	b = binary.BigEndian.AppendUint64(b, t.Epoch)
	b = binary.BigEndian.AppendUint32(b, t.Index)
	b = binary.BigEndian.AppendUint32(b, uint32(len(hdr)))
	b = append(b, hdr...)
	b = append(b, t.Cell[:]...)
	return append(b, t.Proof[:]...)
}

func (t *PoRATx) appendTo(b []byte) []byte { return append(t.appendBody(b), t.Sig[:]...) }

// SignBytes is what the signer signs.
func (t *PoRATx) SignBytes(chainID string) []byte {
	const prefix = "zgda/v2/tx/pora"
	b := append([]byte(prefix), binary.BigEndian.AppendUint16(nil, uint16(len(chainID)))...)
	return t.appendBody(append(b, chainID...))
}

func decodePoRA(b []byte) (*PoRATx, error) {
	const fixed = 2 + 4 + 8 + 4 + 4
	if len(b) < fixed+da.CellSize+da.ProofSize+da.SignatureSize {
		return nil, fmt.Errorf("%w: pora transaction truncated (%d bytes)", ErrMalformedTx, len(b))
	}
	t := &PoRATx{}
	p := b[2:]
	t.Signer = binary.BigEndian.Uint32(p)
	t.Epoch = binary.BigEndian.Uint64(p[4:])
	t.Index = binary.BigEndian.Uint32(p[12:])
	hl := int(binary.BigEndian.Uint32(p[16:]))
	p = p[20:]
	if hl != len(p)-da.CellSize-da.ProofSize-da.SignatureSize {
		return nil, fmt.Errorf("%w: pora transaction: header length %d, %d bytes follow", ErrMalformedTx, hl, len(p))
	}
	if err := t.Header.UnmarshalBinary(p[:hl]); err != nil {
		return nil, fmt.Errorf("%w: pora transaction: batch header: %v", ErrMalformedTx, err)
	}
	p = p[hl:]
	copy(t.Cell[:], p)
	copy(t.Proof[:], p[da.CellSize:])
	copy(t.Sig[:], p[da.CellSize+da.ProofSize:])
	return t, nil
}

// NewPoRATx builds and signs key's answer to a challenge.
func NewPoRATx(chainID string, key *signer.Key, c *Challenge, hdr *da.BatchHeader, cell []byte, proof kzg.Proof) ([]byte, error) {
	if len(cell) != da.CellSize {
		return nil, fmt.Errorf("%w: a cell of %d bytes", ErrMalformedTx, len(cell))
	}
	t := &PoRATx{Signer: c.Signer, Epoch: c.Epoch, Index: c.Index, Header: *hdr, Proof: proof}
	copy(t.Cell[:], cell)
	if _, err := hdr.MarshalBinary(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedTx, err)
	}
	t.Sig = key.Sign(t.SignBytes(chainID)).Bytes()
	return EncodeTx(t), nil
}

func (a *App) execPoRA(v view, t *PoRATx, h int64, check bool) error {
	r := stateReader{v}
	c, err := r.challenge(t.Epoch, t.Signer, t.Index)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("%w: no challenge %d of signer %d in epoch %d", ErrNotFound, t.Index, t.Signer, t.Epoch)
	}
	if cur := a.epochOf(h); cur != t.Epoch {
		return fmt.Errorf("%w: challenge of epoch %d answered in epoch %d", ErrStaleEpoch, t.Epoch, cur)
	}
	if c.Status != PoRAPending {
		return fmt.Errorf("%w: challenge %d of signer %d in epoch %d is answered already", ErrDuplicate, t.Index, t.Signer, t.Epoch)
	}
	pk, err := a.pubKey(r, t.Signer)
	if err != nil {
		return err
	}
	if sig, err := signer.ParseSignature(t.Sig[:]); err != nil || !pk.Verify(t.SignBytes(a.chainID), sig) {
		return fmt.Errorf("%w: pora answer: signer %d's signature does not verify", ErrBadSignature, t.Signer)
	}
	// From here a wrong answer is the signer's: it is recorded as invalid.
	if err := a.checkAnswer(r, c, t); err != nil {
		if !check {
			sc, serr := r.score(t.Epoch, t.Signer)
			if serr != nil {
				return serr
			}
			sc.Invalid++
			v.set(keyScore(t.Epoch, t.Signer), sc.marshal())
		}
		return err
	}
	if check {
		return nil
	}
	sc, err := r.score(t.Epoch, t.Signer)
	if err != nil {
		return err
	}
	if h < a.epochStart(t.Epoch)+int64(a.params.PoRADeadline) {
		c.Status = PoRAInTime
		sc.InTime++
		sc.Points++
	} else {
		c.Status = PoRALate
		sc.Late++
	}
	v.set(keyChallenge(t.Epoch, t.Signer, t.Index), c.marshal())
	v.set(keyScore(t.Epoch, t.Signer), sc.marshal())
	return nil
}

// checkAnswer checks an answer's header against the recorded certificate,
// derives the challenged row's commitment and verifies the cell's proof.
func (a *App) checkAnswer(r stateReader, c *Challenge, t *PoRATx) error {
	hdr := &t.Header
	if err := hdr.Check(); err != nil {
		return fmt.Errorf("%w: pora answer: batch header: %v", ErrInvalidAnswer, err)
	}
	if root := hdr.Root(); root != c.BatchRoot {
		return fmt.Errorf("%w: pora answer: the header's batch root is %s, the challenge's %s", ErrInvalidAnswer, root, c.BatchRoot)
	}
	d := hdr.DataRows()
	j := da.ExtendedRow(int(c.Row), d)
	comms := hdr.Commitments()
	data := make([]kzg.Commitment, len(comms))
	for i := range comms {
		data[i] = kzg.Commitment(comms[i])
	}
	kz := kzg.Default()
	cm, err := kz.RowCommitment(data, hdr.MatrixRows(), j)
	if err != nil {
		return fmt.Errorf("%w: pora answer: the row's commitment: %v", ErrInvalidAnswer, err)
	}
	cell, err := kzg.ParseCell(t.Cell[:])
	if err != nil {
		return fmt.Errorf("%w: pora answer: %v", ErrInvalidAnswer, err)
	}
	if err := kz.VerifyCell(cm, uint64(c.Cell), cell, kzg.Proof(t.Proof)); err != nil {
		return fmt.Errorf("%w: pora answer: cell %d of row %d of batch %s: %v", ErrInvalidAnswer, c.Cell, c.Row, c.BatchRoot, err)
	}
	return nil
}
