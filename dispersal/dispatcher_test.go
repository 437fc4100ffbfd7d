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
func (f *fakeChain) CertificatesAt(context.Context, int64) ([]chain.CertificateRecord, error) {
	return nil, nil
}
func (f *fakeChain) WaitForHeight(context.Context, int64) error { return nil }
func (f *fakeChain) Close() error                               { return nil }

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
	root, _ := da.BatchRoot(req.Keys())
	return &da.DisperseResponse{OK: true, Signature: n.key.Sign(da.AttestationMessage(req.ChainID, req.Epoch, req.Quorum, root)).Bytes()}
}

// fixture is a fake chain whose one quorum of 256 slots is shared by
// len(acts) nodes with equal ballots.
type fixture struct {
	chain *fakeChain
	nodes []*fakeNode
	d     *Dispatcher
}

func newFixture(t *testing.T, cfg Config, acts ...behaviour) *fixture {
	t.Helper()
	f := &fixture{chain: &fakeChain{params: chain.DefaultParams()}}
	f.chain.params.QuorumSize = 256
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
		ps = append(ps, da.Participant{Signer: uint32(i), VRF: sha256.Sum256([]byte{byte(i)}), Ballots: uint32(256 / len(acts))})
	}
	f.chain.epoch = chain.EpochInfo{Epoch: 3, Started: true, Quorums: da.AssignQuorums(ps, 256)}
	var err error
	f.d, err = New(f.chain, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.d.Close() })
	return f
}

// fakeBlobs are encoded blobs with made-up rows and commitments: the
// Dispatcher routes and frames them without checking.
func fakeBlobs(ks ...int) []*encoder.Encoded {
	var out []*encoder.Encoded
	for b, k := range ks {
		e := &encoder.Encoded{Params: encoder.Params{Length: k * encoder.BytesPerRow, K: k}}
		e.Key = da.BlobKey(sha256.Sum256([]byte{byte(b), byte(k)}))
		for r := 0; r < 4*k; r++ {
			row := make([]fr.Element, kzg.ScalarsPerRow)
			row[0].SetUint64(uint64(b<<16 | r))
			e.Rows = append(e.Rows, row)
			var c kzg.Commitment
			c[0], c[1], c[2] = 0xc0, byte(b), byte(r)
			e.Commitments = append(e.Commitments, c)
		}
		out = append(out, e)
	}
	return out
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

// Each node gets the headers of every blob in batch order and each distinct
// row of its slots exactly once; the certificate verifies.
func TestDisperseRoutesAndCertifies(t *testing.T) {
	f := newFixture(t, TestConfig(), signs, signs, signs, signs)
	blobs := fakeBlobs(1, 4, 2)
	cert, rep, err := f.d.Disperse(ctxT(t, 30*time.Second), blobs)
	if err != nil {
		t.Fatal(err)
	}
	q := f.chain.epoch.Quorums[0]
	for i, n := range f.nodes {
		if len(n.reqs) != 1 {
			t.Fatalf("node %d got %d requests", i, len(n.reqs))
		}
		req := n.reqs[0]
		if req.ChainID != chainID || req.Epoch != 3 || req.Quorum != 0 || len(req.Headers) != 3 {
			t.Fatalf("node %d request %+v", i, req)
		}
		var want []da.SliceRef
		for b, e := range blobs {
			if req.Headers[b].Key != e.Key || req.Headers[b].Rows != uint32(e.Params.K) || len(req.Headers[b].Commitments) != e.Params.K {
				t.Fatalf("node %d header %d", i, b)
			}
			rows := map[uint32]bool{}
			for _, a := range q.BlobAssignments(e.Key, uint32(e.Params.K)) {
				if a.Signer == uint32(i) {
					rows[a.Row] = true
				}
			}
			for r := uint32(0); r < uint32(4*e.Params.K); r++ {
				if rows[r] {
					want = append(want, da.SliceRef{Blob: uint16(b), Row: r})
				}
			}
		}
		if len(req.Slices) != len(want) {
			t.Fatalf("node %d got %d rows, its slots hold %d", i, len(req.Slices), len(want))
		}
		for k, s := range req.Slices {
			if s.SliceRef != want[k] {
				t.Fatalf("node %d slice %d is %v, want %v", i, k, s.SliceRef, want[k])
			}
			var e fr.Element
			e.SetBytes(s.Data[:32])
			if e.Uint64() != uint64(int(s.Blob)<<16|int(s.Row)) {
				t.Fatalf("node %d slice %v carries another row", i, s.SliceRef)
			}
		}
	}
	if cert.Signers.Count() != 4 || len(rep.Failed()) != 0 || rep.BytesSent == 0 {
		t.Fatalf("certificate signers %v, failed %v, sent %d", cert.Signers.Indices(), rep.Failed(), rep.BytesSent)
	}
	var pks []*signer.PublicKey
	for _, n := range f.nodes {
		pks = append(pks, n.key.PublicKey())
	}
	sig, _ := signer.ParseSignature(cert.Signature[:])
	if !signer.FastAggregateVerify(pks, cert.Message(chainID), sig) || cert.Validate() != nil {
		t.Fatal("the certificate does not verify")
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
		da.WriteFrame(&b, &da.DisperseResponse{Code: da.CodeBadRows, Reason: "1 of 4 rows do not match", Rows: []da.SliceRef{{Blob: 0, Row: 2}}})
		return b.Bytes()
	}
	silent := func(*fakeNode, *da.DisperseRequest, int) []byte { time.Sleep(4 * time.Second); return nil }
	wrongSig := func(n *fakeNode, req *da.DisperseRequest, _ int) []byte {
		var b bytes.Buffer
		da.WriteFrame(&b, &da.DisperseResponse{OK: true, Signature: n.key.Sign([]byte("something else")).Bytes()})
		return b.Bytes()
	}
	garbage := func(*fakeNode, *da.DisperseRequest, int) []byte { return []byte{0, 0, 0, 3, 1, 99, 0} }

	cfg := TestConfig()
	cfg.RequestTimeout = 1500 * time.Millisecond // ample for the others, even under -race
	cfg.Retries = 1
	f := newFixture(t, cfg, busyOnce, refuses, silent, wrongSig, garbage, signs)
	_, rep, err := f.d.Disperse(ctxT(t, 30*time.Second), fakeBlobs(1))
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
	if r, _ := rep.Node(1); r.Refusal == nil || len(r.Refusal.Rows) != 1 || r.Refusal.Rows[0] != (da.SliceRef{Blob: 0, Row: 2}) {
		t.Fatalf("refusal %+v", r.Refusal)
	}
	if len(se.Failed) != 4 || len(se.Short) != 1 || se.Short[0].Signed*3 >= se.Short[0].Slots*2 {
		t.Fatalf("short error %+v", se)
	}
	for _, s := range []string{"signer 1", "bad-rows", "signer 2", "timed out", "signer 3", "bad signature", "signer 4", "malformed"} {
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
	f := newFixture(t, cfg, signs, signs, signs, signs, signs, silent)
	start := time.Now()
	cert, rep, err := f.d.Disperse(ctxT(t, 30*time.Second), fakeBlobs(2))
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %v: waited for the silent node", took)
	}
	if r, _ := rep.Node(5); r.Outcome != Cancelled || cert.Signers.Has(5) || cert.Signers.Count() != 5 {
		t.Fatalf("silent node %v; signers %v", r, cert.Signers.Indices())
	}
}

func TestDisperseBadInput(t *testing.T) {
	f := newFixture(t, TestConfig(), signs, signs)
	ctx := ctxT(t, 10*time.Second)
	dup := fakeBlobs(1)
	dup = append(dup, dup[0])
	short := fakeBlobs(2)
	short[0].Rows = short[0].Rows[:3]
	cases := []struct {
		name  string
		blobs []*encoder.Encoded
		says  string
	}{
		{"none", nil, "0 blobs"},
		{"nil", []*encoder.Encoded{nil}, "nil"},
		{"duplicate", dup, "appears twice"},
		{"rows missing", short, "3 rows"},
		{"K over M/4", fakeBlobs(128), "K = 128"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := f.d.Disperse(ctx, c.blobs)
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("%v", err)
			}
		})
	}
	for _, n := range f.nodes {
		if len(n.reqs) != 0 {
			t.Fatal("bad input was sent")
		}
	}
	// No quorum in the epoch.
	f.chain.epoch.Quorums = nil
	if _, _, err := f.d.Disperse(ctx, fakeBlobs(1)); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("%v", err)
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
	for _, c := range []struct{ s, want int }{{256, 171}, {255, 170}, {3, 2}, {1024, 683}} {
		if got := need(c.s, 2, 3); got != c.want || !da.MeetsThreshold(got, c.s, 2, 3) || da.MeetsThreshold(got-1, c.s, 2, 3) {
			t.Fatalf("need(%d) = %d, want %d", c.s, got, c.want)
		}
	}
}
