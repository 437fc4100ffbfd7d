package node_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/internal/p2pkey"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/signer"
	"github.com/zgda/zgda/signer/node"
)

const testChainID = "zgda-node-test"

// cluster is a single-validator chain in this process whose genesis
// signers are DA nodes on loopback, each with its own home and storage.
type cluster struct {
	tb        testing.TB
	chain     *chain.Node
	client    chain.Client
	params    chain.Params
	keys      []*signer.Key
	registrar *signer.Key
	homes     []string
	nodes     []*node.Node
	disp      *dispersal.Dispatcher
	host      host.Host // a bare client host for hand-made requests
	// ids are libp2p identities the genesis registers as dispersers:
	// ids[0] is disp's, ids[1] host's, the others are for tests' own hosts
	// (nextID hands them out).
	ids    []crypto.PrivKey
	nextMu sync.Mutex
	next   int
}

// clusterDispersers is how many registered disperser identities a cluster
// has, and clusterQuota each one's quota: plenty for any test.
const (
	clusterDispersers = 24
	clusterQuota      = 1 << 40
)

// nextID is a registered disperser identity no other host of the test uses.
func (c *cluster) nextID(tb testing.TB) crypto.PrivKey {
	c.nextMu.Lock()
	defer c.nextMu.Unlock()
	if c.next == 0 {
		c.next = 2
	}
	if c.next == len(c.ids) {
		tb.Fatal("the cluster's registered disperser identities are used up")
	}
	c.next++
	return c.ids[c.next-1]
}

func testKey(tb testing.TB, i int) *signer.Key {
	tb.Helper()
	seed := make([]byte, 32)
	binary.BigEndian.PutUint64(seed, uint64(i)+7000)
	k, err := signer.KeyFromSeed(seed)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func ctxT(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

func testLogger(name string) *slog.Logger {
	lvl := os.Getenv("ZGDA_NODE_LOG")
	if lvl == "" {
		return nil
	}
	var l slog.Level
	l.UnmarshalText([]byte(lvl))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})).With("node", name)
}

// newCluster starts n DA nodes, genesis signers of equal stake holding M =
// 1024 ballots in all, so that the one quorum of M slots gives each node
// about M/n slots. extra[i] adds options to node i.
func newCluster(tb testing.TB, n int, extra map[int][]node.Option) *cluster {
	return newClusterWith(tb, n, nil, extra)
}

// newClusterWith is newCluster on a chain whose genesis params set adjusts
// (nil: the test defaults).
func newClusterWith(tb testing.TB, n int, set func(*chain.Params), extra map[int][]node.Option) *cluster {
	tb.Helper()
	c := &cluster{tb: tb, registrar: testKey(tb, 999)}
	p := chain.DefaultParams()
	p.EpochLength = 100_000 // epoch 0 lasts the whole test, even under -race
	if set != nil {
		set(&p)
	}
	c.params = p
	g := &chain.GenesisState{Params: p}
	pk := c.registrar.PublicKey().Bytes()
	g.Registrar = &pk
	for i := range clusterDispersers {
		id := p2pkey.FromSeed([]byte("cluster"), strconv.Itoa(i))
		c.ids = append(c.ids, id)
		g.Dispersers = append(g.Dispersers, chain.GenesisDisperser{PubKey: p2pkey.PublicKey(id), Quota: clusterQuota})
	}
	for i := 0; i < n; i++ {
		k := testKey(tb, i)
		c.keys = append(c.keys, k)
		// Placeholder addresses: each node registers its real ones on start.
		g.Signers = append(g.Signers, chain.NewGenesisSigner(testChainID, k, uint64(int(p.QuorumSize)/n), []string{"/ip4/127.0.0.1/tcp/1"}))
	}
	ports, err := chain.FreePorts(2)
	if err != nil {
		tb.Fatal(err)
	}
	cc := chain.TestConfig()
	cc.P2P.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	cc.RPC.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])) // for nodes that verify over RPC
	home := tb.TempDir()
	if err := chain.InitHome(home, chain.InitOptions{ChainID: testChainID, Genesis: g, Config: cc}); err != nil {
		tb.Fatal(err)
	}
	ctx := ctxT(tb, 60*time.Second)
	var copts []chain.NodeOption
	if l := testLogger("chain"); l != nil && os.Getenv("ZGDA_CHAIN_LOG") != "" {
		copts = append(copts, chain.WithLogger(l))
	}
	cn, err := chain.StartNode(ctx, home, copts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cn.Stop() })
	c.chain, c.client = cn, cn.Client()
	if err := c.client.WaitForHeight(ctx, 1); err != nil {
		tb.Fatal(err)
	}

	c.nodes = make([]*node.Node, n)
	c.homes = make([]string, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		c.homes[i] = tb.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.nodes[i], errs[i] = c.startNode(ctx, i, extra[i]...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			tb.Fatalf("node %d: %v", i, err)
		}
	}
	tb.Cleanup(func() {
		for _, nd := range c.nodes {
			if nd != nil {
				nd.Close()
			}
		}
	})
	// Wait for every answer (healthy nodes all answer; stopped ones fail at
	// once), so that assertions on the signer set do not depend on timing.
	dc := dispersal.TestConfig()
	dc.Linger = 30 * time.Second
	c.disp, err = dispersal.New(c.client, dc, dispersal.WithIdentity(c.ids[0]), dispersal.WithLogger(testLogger("disperser")))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.disp.Close() })
	if c.host, err = dispersal.NewHost(c.ids[1]); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.host.Close() })
	return c
}

// newDispatcher is a reader with empty caches, closed with the test.
func (c *cluster) newDispatcher(tb testing.TB) *dispersal.Dispatcher {
	d, err := dispersal.New(c.client, dispersal.TestConfig(), dispersal.WithLogger(testLogger("reader")))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// nodeConfig is a test config in home with its volume created.
func nodeConfig(tb testing.TB, home string) *node.Config {
	cfg := node.TestConfig(home)
	for _, v := range cfg.VolumePaths() {
		if err := os.MkdirAll(v, 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	return cfg
}

func (c *cluster) startNode(ctx context.Context, i int, extra ...node.Option) (*node.Node, error) {
	return c.startNodeWith(ctx, i, nil, extra...)
}

// startNodeWith is startNode with the test config adjusted by set.
func (c *cluster) startNodeWith(ctx context.Context, i int, set func(*node.Config), extra ...node.Option) (*node.Node, error) {
	opts := append([]node.Option{node.WithClient(c.client)}, extra...)
	if l := testLogger(fmt.Sprintf("da%d", i)); l != nil {
		opts = append(opts, node.WithLogger(l))
	}
	cfg := nodeConfig(c.tb, c.homes[i])
	if set != nil {
		set(cfg)
	}
	return node.Start(ctx, cfg, c.keys[i], opts...)
}

// stop closes node i (it stays registered, at addresses nobody answers).
func (c *cluster) stop(i int) {
	if err := c.nodes[i].Close(); err != nil {
		c.tb.Fatal(err)
	}
}

// encodeBatch encodes one batch of blobs of the given sizes with
// reproducible contents.
func encodeBatch(tb testing.TB, seed uint64, sizes ...int) *encoder.Batch {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, uint64(len(sizes))))
	var blobs [][]byte
	for _, n := range sizes {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		blobs = append(blobs, b)
	}
	return encodeBlobs(tb, blobs...)
}

// encodeBlobs encodes one batch of the given blobs.
func encodeBlobs(tb testing.TB, blobs ...[]byte) *encoder.Batch {
	tb.Helper()
	enc, err := encoder.New()
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	var committed []*encoder.Blob
	for _, b := range blobs {
		bl, err := enc.CommitBlob(ctx, kzg.Default(), b, nil)
		if err != nil {
			tb.Fatal(err)
		}
		committed = append(committed, bl)
	}
	bt, err := enc.EncodeBatch(ctx, kzg.Default(), committed, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return bt
}

func rowBytes(row []fr.Element) []byte {
	b := make([]byte, 0, da.RowSize)
	for i := range row {
		e := row[i].Bytes()
		b = append(b, e[:]...)
	}
	return b
}

// window is the window of b in quorum 0 of the current epoch, with that
// quorum.
func (c *cluster) window(b *encoder.Batch) (da.Window, da.Quorum, uint64) {
	c.tb.Helper()
	ep, err := c.client.CurrentEpoch(ctxT(c.tb, 10*time.Second))
	if err != nil {
		c.tb.Fatal(err)
	}
	q := ep.Quorums[0]
	w, err := da.NewWindow(b.Root, b.N, int(c.params.MinBatchSlots), len(q))
	if err != nil {
		c.tb.Fatal(err)
	}
	return w, q, ep.Epoch
}

// requestFor builds the dispersal request signer sg should get for b in
// quorum 0 of the current epoch, as the Dispatcher would: the batch header
// and each dispersed row of sg's window slots once.
func (c *cluster) requestFor(b *encoder.Batch, sg uint32) *da.DisperseRequest {
	c.tb.Helper()
	w, q, epoch := c.window(b)
	req := &da.DisperseRequest{ChainID: testChainID, Epoch: epoch, Quorum: 0, Batch: b.Header}
	for _, n := range q.RowsOf(w, sg) {
		req.Slices = append(req.Slices, da.Slice{Row: n, Data: rowBytes(b.Rows[n])})
	}
	return req
}

// sendRaw writes raw bytes to node nd on protocol p and reads its answer.
func (c *cluster) sendRaw(nd *node.Node, p protocol.ID, raw []byte) (da.Message, error) {
	return c.sendRawFrom(c.host, nd, p, raw)
}

// sendRawFrom is sendRaw from host h.
func (c *cluster) sendRawFrom(h host.Host, nd *node.Node, p protocol.ID, raw []byte) (da.Message, error) {
	ctx := ctxT(c.tb, 30*time.Second)
	ai := peer.AddrInfo{ID: nd.PeerID()}
	for _, a := range nd.Addrs() {
		info, err := peer.AddrInfoFromString(a)
		if err != nil {
			c.tb.Fatal(err)
		}
		ai.Addrs = append(ai.Addrs, info.Addrs...)
	}
	if err := h.Connect(ctx, ai); err != nil {
		c.tb.Fatal(err)
	}
	s, err := h.NewStream(ctx, nd.PeerID(), p)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(30 * time.Second))
	// Write while reading: the node may answer before reading everything.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := s.Write(raw); err == nil {
			s.CloseWrite()
		}
	}()
	m, err := da.ReadMessage(s, da.MaxAnswerSize)
	select {
	case <-done:
	default:
		s.Reset()
		<-done
	}
	return m, err
}

// send frames m and sends it to nd on protocol p.
func (c *cluster) send(nd *node.Node, p protocol.ID, m da.Message) da.Message {
	c.tb.Helper()
	return c.sendFrom(c.host, nd, p, m)
}

// sendFrom is send from host h.
func (c *cluster) sendFrom(h host.Host, nd *node.Node, p protocol.ID, m da.Message) da.Message {
	c.tb.Helper()
	var buf bytes.Buffer
	if err := da.WriteFrame(&buf, m); err != nil {
		c.tb.Fatal(err)
	}
	ans, err := c.sendRawFrom(h, nd, p, buf.Bytes())
	if err != nil {
		c.tb.Fatal(err)
	}
	return ans
}

func (c *cluster) submitCert(cert *da.Certificate) *chain.CertificateRecord {
	c.tb.Helper()
	ctx := ctxT(c.tb, 30*time.Second)
	tx, err := chain.NewCertificateTx(cert)
	if err != nil {
		c.tb.Fatal(err)
	}
	if _, err := c.client.Submit(ctx, tx); err != nil {
		c.tb.Fatalf("certificate refused by the chain: %v", err)
	}
	rec, err := c.client.Certificate(ctx, cert.BatchRoot)
	if err != nil {
		c.tb.Fatalf("certificate not found after inclusion: %v", err)
	}
	a, _ := rec.Certificate.MarshalBinary()
	b, _ := cert.MarshalBinary()
	if !bytes.Equal(a, b) {
		c.tb.Fatal("the chain recorded another certificate")
	}
	return rec
}

// countRows sums the stored rows of all running nodes under a prefix.
func (c *cluster) count(i int, prefix string) int {
	return c.nodes[i].CountKeys(context.Background(), prefix)
}
