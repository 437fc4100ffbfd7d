package dispersal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/signer"
)

const chainID = "zgda-dispersal-test"

// fakeChain is a chain.Client over a fixed registry and one epoch.
type fakeChain struct {
	params  chain.Params
	signers []chain.SignerInfo
	epoch   chain.EpochInfo
}

func (f *fakeChain) ChainID() string { return chainID }
func (f *fakeChain) Submit(context.Context, []byte) (*chain.TxResult, error) {
	return nil, errors.New("fake chain: no transactions")
}
func (f *fakeChain) Status(context.Context) (*chain.AppStatus, error) {
	return &chain.AppStatus{ChainID: chainID, Epoch: f.epoch.Epoch, Params: f.params}, nil
}
func (f *fakeChain) Signers(context.Context) ([]chain.SignerInfo, error) { return f.signers, nil }
func (f *fakeChain) Signer(_ context.Context, pk da.PublicKey) (*chain.SignerInfo, error) {
	for i := range f.signers {
		if f.signers[i].PubKey == pk {
			return &f.signers[i], nil
		}
	}
	return nil, chain.ErrNotFound
}
func (f *fakeChain) Epoch(_ context.Context, e uint64) (*chain.EpochInfo, error) {
	if e != f.epoch.Epoch {
		return nil, chain.ErrNotFound
	}
	return &f.epoch, nil
}
func (f *fakeChain) CurrentEpoch(context.Context) (*chain.EpochInfo, error) { return &f.epoch, nil }
func (f *fakeChain) Certificate(context.Context, da.Hash) (*chain.CertificateRecord, error) {
	return nil, chain.ErrNotFound
}
func (f *fakeChain) CertificateForBlob(context.Context, da.BlobKey) (*chain.CertificateRecord, error) {
	return nil, chain.ErrNotFound
}
func (f *fakeChain) BlobBatch(context.Context, da.BlobKey) (*chain.BlobLocation, error) {
	return nil, chain.ErrNotFound
}
func (f *fakeChain) CertificatesAt(context.Context, int64) ([]chain.CertificateRecord, error) {
	return nil, nil
}
func (f *fakeChain) Disperser(context.Context, chain.DisperserKey) (*chain.DisperserInfo, error) {
	return nil, chain.ErrNotFound
}
func (f *fakeChain) Challenges(context.Context, uint64, uint32) ([]chain.Challenge, error) {
	return nil, nil
}
func (f *fakeChain) Scores(context.Context, uint64) ([]chain.Score, error) { return nil, nil }
func (f *fakeChain) WaitForHeight(context.Context, int64) error            { return nil }
func (f *fakeChain) Close() error                                          { return nil }

var _ chain.Client = (*fakeChain)(nil)

// behaviour is how a fake node answers its attempt-th request (from 1).
type behaviour func(n *fakeNode, req *da.DisperseRequest, attempt int) []byte

// fakeNode speaks the dispersal protocol without checking rows.
type fakeNode struct {
	key  *signer.Key
	host host.Host
	act  behaviour

	mu   sync.Mutex
	reqs []*da.DisperseRequest
}

func (n *fakeNode) sign(req *da.DisperseRequest) *da.DisperseResponse {
	return &da.DisperseResponse{OK: true, Signature: n.key.Sign(da.AttestationMessage(req.ChainID, req.Epoch, req.Quorum, req.Batch.Root())).Bytes()}
}

// fixture is a fake chain whose one quorum of m slots is shared by
// len(acts) nodes with equal ballots.
type fixture struct {
	chain *fakeChain
	nodes []*fakeNode
	d     *Dispatcher
}

func newFixture(t *testing.T, m int, cfg Config, acts ...behaviour) *fixture {
	t.Helper()
	f := &fixture{chain: &fakeChain{params: chain.DefaultParams()}}
	f.chain.params.QuorumSize = uint32(m)
	f.chain.params.MinBatchSlots = da.DefaultMinBatchSlots
	var ps []da.Participant
	for i, act := range acts {
		seed := make([]byte, 32)
		binary.BigEndian.PutUint64(seed, uint64(i)+1)
		k, err := signer.KeyFromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
			libp2p.Transport(tcp.NewTCPTransport), libp2p.Security(noise.ID, noise.New),
			libp2p.Muxer(yamux.ID, yamux.DefaultTransport), libp2p.DisableRelay(), libp2p.DisableMetrics(),
			libp2p.ResourceManager(&network.NullResourceManager{}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		n := &fakeNode{key: k, host: h, act: act}
		attempts := 0
		h.SetStreamHandler(da.ProtocolDisperse, func(s network.Stream) {
			defer s.Close()
			m, err := da.ReadMessage(s, da.MaxDisperseRequestSize)
			if err != nil {
				t.Errorf("fake node %d: %v", i, err)
				return
			}
			req := m.(*da.DisperseRequest)
			n.mu.Lock()
			attempts++
			a := attempts
			n.reqs = append(n.reqs, req)
			n.mu.Unlock()
			if out := n.act(n, req, a); out != nil {
				s.Write(out)
			}
		})
		f.nodes = append(f.nodes, n)
		var addrs []string
		for _, a := range h.Addrs() {
			addrs = append(addrs, a.String()+"/p2p/"+h.ID().String())
		}
		f.chain.signers = append(f.chain.signers, chain.SignerInfo{Index: uint32(i), PubKey: k.PublicKey().Bytes(), Stake: 64, Addrs: addrs})
		ps = append(ps, da.Participant{Signer: uint32(i), VRF: sha256.Sum256([]byte{byte(i)}), Ballots: uint32(m / len(acts))})
	}
	f.chain.epoch = chain.EpochInfo{Epoch: 3, Started: true, Quorums: da.AssignQuorums(ps, m)}
	var err error
	f.d, err = New(f.chain, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.d.Close() })
	return f
}

// fakeBatch is a batch of blobs of the given R with made-up commitments and
// rows (the Dispatcher routes and frames them without checking them against
// each other): dispersed row n carries n in its first element.
func fakeBatch(rs ...int) *encoder.Batch {
	var h da.BatchHeader
	for b, r := range rs {
		bh := da.BlobHeader{Length: uint64(r) * da.BytesPerRow, Rows: uint32(r)}
		for i := 0; i < r; i++ {
			var c da.Commitment
			c[0], c[1], c[2] = 0xc0, byte(b), byte(i)
			bh.Commitments = append(bh.Commitments, c)
		}
		bh.Key = da.ComputeBlobKey(bh.Length, bh.Commitments)
		h.Blobs = append(h.Blobs, bh)
	}
	d := h.DataRows()
	bt := &encoder.Batch{Header: h, Root: h.Root(), D: d, K: da.MatrixRows(d), N: 4 * d}
	data := h.Commitments()
	for n := 0; n < bt.N; n++ {
		row := make([]fr.Element, kzg.ScalarsPerRow)
		row[0].SetUint64(uint64(n))
		bt.Rows = append(bt.Rows, row)
		var c kzg.Commitment
		if n < d {
			c = kzg.Commitment(data[n])
		} else {
			c[0], c[1], c[2] = 0xc1, byte(n>>8), byte(n)
		}
		bt.Commitments = append(bt.Commitments, c)
	}
	return bt
}

func signs(n *fakeNode, req *da.DisperseRequest, _ int) []byte {
	var b bytes.Buffer
	da.WriteFrame(&b, n.sign(req))
	return b.Bytes()
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Each node gets the batch header and each distinct dispersed row of its
// window slots exactly once, in ascending order; the certificate verifies;
// the row and header bytes sent are counted apart.
func TestDisperseRoutesAndCertifies(t *testing.T) {
	for _, tc := range []struct {
		name string
		rs   []int
	}{
		{"replicated (N < W)", []int{1, 4, 2}},      // D = 7, N = 28, S = 256
		{"one slot per row (N > W)", []int{60, 10}}, // D = 70, N = 280 = S
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1024, TestConfig(), signs, signs, signs, signs)
			b := fakeBatch(tc.rs...)
			cert, rep, err := f.d.Disperse(ctxT(t, 60*time.Second), b)
			if err != nil {
				t.Fatal(err)
			}
			q := f.chain.epoch.Quorums[0]
			w, err := da.NewWindow(b.Root, b.N, da.DefaultMinBatchSlots, 1024)
			if err != nil {
				t.Fatal(err)
			}
			hdr, _ := b.Header.MarshalBinary()
			rows := 0
			for i, n := range f.nodes {
				if len(n.reqs) != 1 {
					t.Fatalf("node %d got %d requests", i, len(n.reqs))
				}
				req := n.reqs[0]
				if req.ChainID != chainID || req.Epoch != 3 || req.Quorum != 0 || req.Batch.Root() != b.Root {
					t.Fatalf("node %d request %+v", i, req)
				}
				if got, _ := req.Batch.MarshalBinary(); !bytes.Equal(got, hdr) {
					t.Fatalf("node %d got another batch header", i)
				}
				want := q.RowsOf(w, uint32(i))
				if len(req.Slices) != len(want) {
					t.Fatalf("node %d got %d rows, its window slots hold %d", i, len(req.Slices), len(want))
				}
				for k, s := range req.Slices {
					var e fr.Element
					e.SetBytes(s.Data[:32])
					if s.Row != want[k] || e.Uint64() != uint64(s.Row) {
						t.Fatalf("node %d slice %d is row %d carrying row %d, want row %d", i, k, s.Row, e.Uint64(), want[k])
					}
				}
				r, _ := rep.Node(uint32(i))
				if r.Rows != len(want) || r.Outcome != Signed {
					t.Fatalf("node %d report %+v", i, r)
				}
				rows += len(want)
			}
			if b.N >= da.DefaultMinBatchSlots && rows != b.N {
				t.Fatalf("%d rows sent for a window of one slot per row (N = %d)", rows, b.N)
			}
			if rep.RowBytesSent != int64(rows)*da.RowSize || rep.HeaderBytesSent != int64(len(f.nodes)*len(hdr)) || rep.BytesSent <= rep.RowBytesSent+rep.HeaderBytesSent {
				t.Fatalf("sent %d bytes, %d of rows and %d of headers; want %d and %d", rep.BytesSent, rep.RowBytesSent, rep.HeaderBytesSent, rows*da.RowSize, len(f.nodes)*len(hdr))
			}
			if cert.Signers.Count() != 4 || len(rep.Failed()) != 0 || !rep.Window.OK || rep.Window.Weight != rep.Window.Total || rep.Window.Window != w {
				t.Fatalf("certificate signers %v, failed %v, window %+v", cert.Signers.Indices(), rep.Failed(), rep.Window)
			}
			if cert.BatchRoot != b.Root || len(cert.Blobs) != len(tc.rs) || cert.Blobs[0] != b.Header.Blobs[0].Entry() {
				t.Fatalf("certificate %+v", cert)
			}
			var pks []*signer.PublicKey
			for _, n := range f.nodes {
				pks = append(pks, n.key.PublicKey())
			}
			sig, _ := signer.ParseSignature(cert.Signature[:])
			if !signer.FastAggregateVerify(pks, cert.Message(chainID), sig) || cert.Validate() != nil {
				t.Fatal("the certificate does not verify")
			}
		})
	}
}

// Transient failures are retried with backoff; refusals, bad signatures
// and malformed answers are not; every failure is reported with its cause.
func TestDisperseFailuresReported(t *testing.T) {
	busyOnce := func(n *fakeNode, req *da.DisperseRequest, a int) []byte {
		if a == 1 {
			var b bytes.Buffer
			da.WriteFrame(&b, &da.Busy{RetryAfterMillis: 5})
			return b.Bytes()
		}
		return signs(n, req, a)
	}
	refuses := func(_ *fakeNode, _ *da.DisperseRequest, _ int) []byte {
		var b bytes.Buffer
		da.WriteFrame(&b, &da.DisperseResponse{Code: da.CodeBadRows, Reason: "1 of 4 rows do not match", Rows: []uint32{2}})
		return b.Bytes()
	}
	silent := func(*fakeNode, *da.DisperseRequest, int) []byte { time.Sleep(4 * time.Second); return nil }
	wrongSig := func(n *fakeNode, req *da.DisperseRequest, _ int) []byte {
		var b bytes.Buffer
		da.WriteFrame(&b, &da.DisperseResponse{OK: true, Signature: n.key.Sign([]byte("something else")).Bytes()})
		return b.Bytes()
	}
	garbage := func(*fakeNode, *da.DisperseRequest, int) []byte { return []byte{0, 0, 0, 3, 2, 99, 0} }

	cfg := TestConfig()
	cfg.RequestTimeout = 1500 * time.Millisecond // ample for the others, even under -race
	cfg.Retries = 1
	f := newFixture(t, 1024, cfg, busyOnce, refuses, silent, wrongSig, garbage, signs)
	b := fakeBatch(1)
	_, rep, err := f.d.Disperse(ctxT(t, 30*time.Second), b)
	var se *ShortError
	if !errors.As(err, &se) || !errors.Is(err, ErrInsufficientSignatures) {
		t.Fatalf("%v", err)
	}
	want := []struct {
		outcome  Outcome
		attempts int
		says     string
	}{
		{Signed, 2, ""},
		{Refused, 1, "bad-rows"},
		{TimedOut, 2, ""},
		{BadSignature, 1, "does not verify"},
		{Failed, 1, "malformed answer"},
		{Signed, 1, ""},
	}
	for i, w := range want {
		r, ok := rep.Node(uint32(i))
		if !ok || r.Outcome != w.outcome || r.Attempts != w.attempts || (w.says != "" && !strings.Contains(r.String(), w.says)) {
			t.Fatalf("node %d: %v (attempts %d), want %v after %d saying %q", i, r, r.Attempts, w.outcome, w.attempts, w.says)
		}
	}
	if r, _ := rep.Node(1); r.Refusal == nil || len(r.Refusal.Rows) != 1 || r.Refusal.Rows[0] != 2 {
		t.Fatalf("refusal %+v", r.Refusal)
	}
	q := f.chain.epoch.Quorums[0]
	w, _ := da.NewWindow(b.Root, b.N, da.DefaultMinBatchSlots, 1024)
	got, total := q.SignedWeight(w, func(s uint32) bool { return s == 0 || s == 5 })
	if len(se.Failed) != 4 || se.Root != b.Root || se.Window.Weight != got || se.Window.Total != total || se.Window.OK ||
		se.Window.Need != (2*total+2)/3 || se.Window.SignedSlots == 0 {
		t.Fatalf("short error %+v, want weight %d of %d", se, got, total)
	}
	for _, s := range []string{"signer 1", "bad-rows", "signer 2", "timed out", "signer 3", "bad signature", "signer 4", "malformed", "signed weight"} {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error does not say %q: %v", s, err)
		}
	}
}

// Once the threshold is reached the Dispatcher waits Linger, not for a
// node that never answers.
func TestDisperseDoesNotWaitForStragglers(t *testing.T) {
	silent := func(*fakeNode, *da.DisperseRequest, int) []byte { time.Sleep(3 * time.Second); return nil }
	cfg := TestConfig()
	cfg.RequestTimeout = 10 * time.Second
	cfg.Concurrency = 2
	f := newFixture(t, 1024, cfg, signs, signs, signs, signs, signs, signs, signs, silent)
	start := time.Now()
	cert, rep, err := f.d.Disperse(ctxT(t, 30*time.Second), fakeBatch(2))
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %v: waited for the silent node", took)
	}
	if r, _ := rep.Node(7); r.Outcome != Cancelled || cert.Signers.Has(7) || cert.Signers.Count() != 7 {
		t.Fatalf("silent node %v; signers %v", r, cert.Signers.Indices())
	}
}

func TestDisperseBadInput(t *testing.T) {
	f := newFixture(t, 1024, TestConfig(), signs, signs)
	ctx := ctxT(t, 10*time.Second)
	mut := func(m func(b *encoder.Batch)) *encoder.Batch { b := fakeBatch(1, 2); m(b); return b }
	cases := []struct {
		name string
		b    *encoder.Batch
		says string
	}{
		{"none", nil, "no batch"},
		{"key not of header", mut(func(b *encoder.Batch) { b.Header.Blobs[1].Key[3] ^= 1 }), "hashes to"},
		{"duplicate blob", mut(func(b *encoder.Batch) { b.Header.Blobs[1] = b.Header.Blobs[0] }), "appears twice"},
		{"R not of length", mut(func(b *encoder.Batch) { b.Header.Blobs[0].Length = 2 * da.BytesPerRow }), "rows for"},
		{"D not of header", mut(func(b *encoder.Batch) { b.D = 4 }), "D = 4"},
		{"N not 4D", mut(func(b *encoder.Batch) { b.N = 13 }), "N = 13"},
		{"root not of header", mut(func(b *encoder.Batch) { b.Root[0] ^= 1 }), "is not its header's root"},
		{"rows missing", mut(func(b *encoder.Batch) { b.Rows = b.Rows[:11] }), "11 rows"},
		{"short row", mut(func(b *encoder.Batch) { b.Rows[5] = b.Rows[5][:100] }), "dispersed row 5 has 100"},
		{"commitments missing", mut(func(b *encoder.Batch) { b.Commitments = b.Commitments[:3] }), "3 commitments"},
		{"data commitment not of header", mut(func(b *encoder.Batch) { b.Commitments[2][7] ^= 1 }), "data row 2's commitment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := f.d.Disperse(ctx, c.b)
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("%v", err)
			}
		})
	}
	// A batch of more dispersed rows than a quorum has slots.
	small := newFixture(t, 256, TestConfig(), signs, signs)
	big := fakeBatch(65) // N = 260 > 256
	if _, _, err := small.d.Disperse(ctx, big); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "260 dispersed rows") {
		t.Fatalf("N over M: %v", err)
	}
	for _, n := range append(f.nodes, small.nodes...) {
		if len(n.reqs) != 0 {
			t.Fatal("bad input was sent")
		}
	}
	// No quorum in the epoch.
	f.chain.epoch.Quorums = nil
	if _, _, err := f.d.Disperse(ctx, fakeBatch(1)); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("%v", err)
	}
}

func TestVerifyBatchHeader(t *testing.T) {
	b := fakeBatch(1, 3)
	if err := VerifyBatchHeader(b.Root, &b.Header); err != nil {
		t.Fatal(err)
	}
	other := fakeBatch(2)
	if err := VerifyBatchHeader(b.Root, &other.Header); !errors.Is(err, da.ErrHeader) || !strings.Contains(err.Error(), "not to") {
		t.Fatalf("another batch's header: %v", err)
	}
	bad := fakeBatch(1, 3)
	bad.Header.Blobs[1].Commitments[0][5] ^= 1
	if err := VerifyBatchHeader(b.Root, &bad.Header); !errors.Is(err, da.ErrHeader) {
		t.Fatalf("a header not of its keys: %v", err)
	}
	if err := VerifyBatchHeader(b.Root, nil); !errors.Is(err, da.ErrHeader) {
		t.Fatalf("no header: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"request_timeout": func(c *Config) { c.RequestTimeout = 0 },
		"retries":         func(c *Config) { c.Retries = -1 },
		"max_backoff":     func(c *Config) { c.MaxBackoff = c.Backoff - 1 },
		"concurrency":     func(c *Config) { c.Concurrency = -2 },
		"fetch_timeout":   func(c *Config) { c.FetchTimeout = 0 },
	} {
		c := DefaultConfig()
		mut(&c)
		if err := c.ValidateBasic(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), name) {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := New(&fakeChain{}, c); err == nil {
			t.Fatalf("%s: New accepted it", name)
		}
	}
}

func TestNeed(t *testing.T) {
	for _, c := range []struct{ total, want uint64 }{{256, 171}, {255, 170}, {3, 2}, {1024, 683}, {0, 0}, {1 << 62, (1<<63 + 2) / 3}} {
		if got := need(c.total, 2, 3); got != c.want || !da.MeetsThreshold(got, c.total, 2, 3) || (got > 0 && da.MeetsThreshold(got-1, c.total, 2, 3)) {
			t.Fatalf("need(%d) = %d, want %d", c.total, got, c.want)
		}
	}
}
