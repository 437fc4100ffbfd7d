package chain

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/signer"
)

const testChainID = "zgda-test"

// testKey is a reproducible BLS key.
func testKey(t testing.TB, i int) *signer.Key {
	t.Helper()
	seed := make([]byte, 32)
	binary.BigEndian.PutUint64(seed, uint64(i)+1000)
	k, err := signer.KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// harness drives an App directly through ABCI, without CometBFT: blocks are
// FinalizeBlock + Commit with a synthetic block hash.
type harness struct {
	t         testing.TB
	app       *App
	dir       string
	height    int64
	keys      []*signer.Key // genesis signers, index = registry index
	registrar *signer.Key
}

// newHarness starts a chain whose genesis signers hold stakes[i], each with
// an epoch-0 VRF proof.
func newHarness(t testing.TB, p Params, stakes []uint64, withRegistrar bool) *harness {
	t.Helper()
	return newHarnessAt(t, p, stakes, withRegistrar, 1)
}

// newHarnessAt is newHarness for a chain whose first block is initialHeight.
func newHarnessAt(t testing.TB, p Params, stakes []uint64, withRegistrar bool, initialHeight int64) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), height: initialHeight - 1}
	g := &GenesisState{Params: p}
	for i, s := range stakes {
		k := testKey(t, i)
		h.keys = append(h.keys, k)
		g.Signers = append(g.Signers, NewGenesisSigner(testChainID, k, s, []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 9000+i)}))
	}
	if withRegistrar {
		h.registrar = testKey(t, 999)
		pk := h.registrar.PublicKey().Bytes()
		g.Registrar = &pk
	}
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	h.open()
	if _, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{
		ChainId: testChainID, InitialHeight: initialHeight, AppStateBytes: raw,
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// harnessBackend, when set, opens the harness's state store instead of
// the app's own (BenchmarkAppCertificates compares stores).
var harnessBackend func(dir string) (backend, error)

func (h *harness) open() {
	open := func() (*App, error) { return NewApp(h.dir, testChainID, nil) }
	if harnessBackend != nil {
		open = func() (*App, error) {
			b, err := harnessBackend(h.dir)
			if err != nil {
				return nil, err
			}
			return newApp(newStore(b), testChainID, nil)
		}
	}
	app, err := open()
	if err != nil {
		h.t.Fatal(err)
	}
	h.app = app
	h.t.Cleanup(func() { app.Close() })
}

func blockHash(height int64) []byte {
	s := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("block"), uint64(height)))
	return s[:]
}

// block finalizes and commits a block with txs and returns each tx's error.
func (h *harness) block(txs ...[]byte) []error {
	h.t.Helper()
	h.height++
	res, err := h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{
		Height: h.height, Hash: blockHash(h.height), Txs: txs,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		h.t.Fatal(err)
	}
	errs := make([]error, len(txs))
	for i, r := range res.TxResults {
		if r.Code != CodeOK {
			errs[i] = &TxError{Code: r.Code, Log: r.Log, Height: h.height}
		}
	}
	return errs
}

// deliver puts tx alone in a block.
func (h *harness) deliver(tx []byte) error {
	h.t.Helper()
	return h.block(tx)[0]
}

// check runs CheckTx.
func (h *harness) check(tx []byte) error {
	h.t.Helper()
	res, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
	if err != nil {
		h.t.Fatal(err)
	}
	if res.Code != CodeOK {
		return &TxError{Code: res.Code, Log: res.Log}
	}
	return nil
}

// both runs CheckTx and then FinalizeBlock and requires them to agree.
func (h *harness) both(tx []byte) error {
	h.t.Helper()
	c := h.check(tx)
	d := h.deliver(tx)
	if (c == nil) != (d == nil) || (c != nil && c.(*TxError).Code != d.(*TxError).Code) {
		h.t.Fatalf("CheckTx says %v, FinalizeBlock says %v", c, d)
	}
	return d
}

// advanceTo commits empty blocks until height is reached.
func (h *harness) advanceTo(height int64) {
	for h.height < height {
		h.block()
	}
}

func (h *harness) query(path string, data []byte, out any) error {
	h.t.Helper()
	res, err := h.app.Query(context.Background(), &abci.QueryRequest{Path: path, Data: data})
	if err != nil {
		h.t.Fatal(err)
	}
	if res.Code != CodeOK {
		return &TxError{Code: res.Code, Log: res.Log}
	}
	return json.Unmarshal(res.Value, out)
}

func (h *harness) epoch(e uint64) *EpochInfo {
	h.t.Helper()
	var info EpochInfo
	if err := h.query(QueryEpoch, binary.BigEndian.AppendUint64(nil, e), &info); err != nil {
		h.t.Fatal(err)
	}
	return &info
}

// blobs makes n blobs of R = rows with keys derived from tag.
func blobs(tag string, n int, rows uint32) []da.CertifiedBlob {
	out := make([]da.CertifiedBlob, n)
	for i := range out {
		out[i] = da.CertifiedBlob{Key: da.BlobKey(sha256.Sum256(fmt.Appendf(nil, "%s/%d", tag, i))), Rows: rows}
	}
	return out
}

// certify builds a certificate for bs signed by the given keys (indices
// into keys) over the attestation message on chainID.
func certify(t testing.TB, keys []*signer.Key, chainID string, epoch uint64, quorum uint32, bs []da.CertifiedBlob, signers ...int) *da.Certificate {
	t.Helper()
	c := &da.Certificate{Epoch: epoch, Quorum: quorum, Blobs: bs}
	root, err := da.BatchRoot(bs)
	if err != nil {
		t.Fatal(err)
	}
	c.BatchRoot = root
	msg := c.Message(chainID)
	var sigs []*signer.Signature
	for _, i := range signers {
		sigs = append(sigs, keys[i].Sign(msg))
		c.Signers = c.Signers.Set(uint32(i))
	}
	agg, err := signer.AggregateSignatures(sigs)
	if err != nil {
		t.Fatal(err)
	}
	c.Signature = agg.Bytes()
	return c
}

// rawCertTx encodes c as a certificate tx without the encoder's checks
// (the layout of docs/spec.md §4.4), so that the chain's own refusal of a
// malformed certificate can be tested.
func rawCertTx(c *da.Certificate) []byte {
	b := []byte{TxVersion, byte(TxCertificate), da.CertificateVersion}
	b = append(b, c.BatchRoot[:]...)
	b = binary.BigEndian.AppendUint64(b, c.Epoch)
	b = binary.BigEndian.AppendUint32(b, c.Quorum)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.Blobs)))
	for _, bl := range c.Blobs {
		b = append(b, bl.Key[:]...)
		b = binary.BigEndian.AppendUint32(b, bl.Rows)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.Signers)))
	b = append(b, c.Signers...)
	return append(b, c.Signature[:]...)
}

func certTx(t testing.TB, c *da.Certificate) []byte {
	t.Helper()
	tx, err := NewCertificateTx(c)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}
