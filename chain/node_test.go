package chain

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/signer"
)

// testGenesis has n signers of 64 stake with epoch-0 VRFs, M = 256, and a
// registrar; it returns the signer keys and the registrar's.
func testGenesis(t testing.TB, n int, epochLength uint64) (*GenesisState, []*signer.Key, *signer.Key) {
	t.Helper()
	p := smallParams()
	p.EpochLength = epochLength
	g := &GenesisState{Params: p}
	var keys []*signer.Key
	for i := 0; i < n; i++ {
		k := testKey(t, i)
		keys = append(keys, k)
		g.Signers = append(g.Signers, NewGenesisSigner(testChainID, k, 64, []string{"/ip4/127.0.0.1/tcp/" + strconv.Itoa(9000+i)}))
	}
	reg := testKey(t, 999)
	pk := reg.PublicKey().Bytes()
	g.Registrar = &pk
	return g, keys, reg
}

func testNodeConfig(t testing.TB, rpc bool) *Config {
	t.Helper()
	ports, err := FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	c := TestConfig()
	c.P2P.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	if rpc {
		c.RPC.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	}
	return c
}

// nodeOpts sends node logs to stderr when ZGDA_CHAIN_LOG names a level.
func nodeOpts(name string) []NodeOption {
	lvl := os.Getenv("ZGDA_CHAIN_LOG")
	if lvl == "" {
		return nil
	}
	return []NodeOption{WithLogger(newLevelLogger(lvl).With("node", name))}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// The single-validator node: transactions through the in-process client and
// over RPC on loopback, then a restart that keeps every record.
func TestNodeSingleValidatorRestart(t *testing.T) {
	g, keys, reg := testGenesis(t, 4, 1<<20)
	home := t.TempDir()
	if err := InitHome(home, InitOptions{ChainID: testChainID, Genesis: g, Config: testNodeConfig(t, true)}); err != nil {
		t.Fatal(err)
	}
	if err := InitHome(home, InitOptions{ChainID: testChainID, Genesis: g}); !errors.Is(err, ErrHomeExists) {
		t.Fatalf("second init: %v", err)
	}
	ctx := ctxT(t, 60*time.Second)
	n, err := StartNode(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	c := n.Client()
	if err := c.WaitForHeight(ctx, 2); err != nil {
		t.Fatal(err)
	}

	// In-process: a certificate, a registration, a VRF output.
	cert := certify(t, keys, testChainID, 0, 0, blobs("node", 3, 4), 0, 1, 2)
	res, err := c.Submit(ctx, certTx(t, cert))
	if err != nil {
		t.Fatal(err)
	}
	if res.Height < 1 || res.Code != CodeOK {
		t.Fatalf("result %+v", res)
	}
	newKey := testKey(t, 77)
	regTx, _ := NewRegisterTx(testChainID, newKey, 64, 1, []string{"/ip4/127.0.0.1/tcp/9999"}, reg)
	if _, err := c.Submit(ctx, regTx); err != nil {
		t.Fatal(err)
	}
	cur, err := c.CurrentEpoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next, err := c.Epoch(ctx, cur.Epoch+1)
	if err != nil {
		t.Fatal(err)
	}
	// The new signer was registered after next's seed was fixed: its output
	// is refused (docs/spec.md §4.1); a genesis signer's counts.
	_, err = c.Submit(ctx, NewVRFTx(testChainID, newKey, next.Epoch, next.Seed))
	wantErr(t, "in-process, VRF of a signer registered after the seed", err, ErrRegisteredAfterSeed)
	if _, err := c.Submit(ctx, NewVRFTx(testChainID, keys[0], next.Epoch, next.Seed)); err != nil {
		t.Fatal(err)
	}
	// Refusals come back as errors that match the sentinels.
	_, err = c.Submit(ctx, certTx(t, certify(t, keys, testChainID, 0, 0, blobs("short", 1, 1), 0, 1)))
	wantErr(t, "in-process, too few slots", err, ErrInsufficientSlots)
	_, err = c.Submit(ctx, certTx(t, cert))
	wantErr(t, "in-process replay", err, ErrDuplicate)
	_, err = c.Submit(ctx, []byte("garbage"))
	wantErr(t, "in-process garbage", err, ErrMalformedTx)

	// Over RPC.
	rc, err := Dial(ctx, n.RPCAddress())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if rc.ChainID() != testChainID {
		t.Fatalf("chain id %q", rc.ChainID())
	}
	got, err := rc.Certificate(ctx, cert.BatchRoot)
	if err != nil || got.Certificate.BatchRoot != cert.BatchRoot || got.Height != res.Height {
		t.Fatalf("RPC certificate: %v %+v", err, got)
	}
	if got, err := rc.CertificateForBlob(ctx, cert.Blobs[2].Key); err != nil || got.Certificate.BatchRoot != cert.BatchRoot {
		t.Fatalf("RPC certificate for blob: %v", err)
	}
	_, err = rc.Certificate(ctx, da.Hash{9})
	wantErr(t, "RPC unknown batch", err, ErrNotFound)
	// A key's batch: blobs of R = 4 lie at offsets 0, 4, 8.
	for name, cl := range map[string]Client{"in-process": c, "RPC": rc} {
		loc, err := cl.BlobBatch(ctx, cert.Blobs[2].Key)
		if err != nil {
			t.Fatalf("%s: blob batch: %v", name, err)
		}
		if want := (BlobLocation{BatchRoot: cert.BatchRoot, Index: 2, Offset: 8, Rows: 4, Height: res.Height}); *loc != want {
			t.Fatalf("%s: blob batch %+v, want %+v", name, *loc, want)
		}
		_, err = cl.BlobBatch(ctx, da.BlobKey{9})
		wantErr(t, name+": unknown key's batch", err, ErrNotFound)
	}
	// Following the chain: the certificate's block lists it, in process and
	// over RPC; the blocks of the refused replay and of the registration do not.
	for name, cl := range map[string]Client{"in-process": c, "RPC": rc} {
		at, err := cl.CertificatesAt(ctx, res.Height)
		if err != nil || len(at) != 1 || at[0].Certificate.BatchRoot != cert.BatchRoot || at[0].Height != res.Height {
			t.Fatalf("%s: certificates at %d: %v %+v", name, res.Height, err, at)
		}
		for h := res.Height + 1; h <= n.Height(); h++ {
			if at, err := cl.CertificatesAt(ctx, h); err != nil || len(at) != 0 {
				t.Fatalf("%s: certificates at %d: %v %+v", name, h, err, at)
			}
		}
		if _, err := cl.CertificatesAt(ctx, n.Height()+1000); err == nil {
			t.Fatalf("%s: certificates of a future block: no error", name)
		}
	}
	cert2 := certify(t, keys, testChainID, 0, 0, blobs("rpc", 2, 1), 1, 2, 3)
	if res, err := rc.Submit(ctx, certTx(t, cert2)); err != nil || res.Height < 1 {
		t.Fatalf("RPC submit: %v %+v", err, res)
	}
	_, err = rc.Submit(ctx, certTx(t, certify(t, keys, testChainID, 0, 0, blobs("rpc-bad", 1, 1), 0, 1)))
	wantErr(t, "RPC, too few slots", err, ErrInsufficientSlots)
	_, err = rc.Submit(ctx, make([]byte, MaxTxSize+1))
	wantErr(t, "RPC oversized", err, ErrTxTooLarge)
	signers, err := rc.Signers(ctx)
	if err != nil || len(signers) != 5 {
		t.Fatalf("RPC signers: %v %d", err, len(signers))
	}

	// Restart.
	h := n.Height()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n2, err := StartNode(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Stop()
	if n2.Height() < h {
		t.Fatalf("restarted at height %d, below %d", n2.Height(), h)
	}
	c2 := n2.Client()
	if err := c2.WaitForHeight(ctx, h+3); err != nil {
		t.Fatal(err)
	}
	for _, want := range []*da.Certificate{cert, cert2} {
		got, err := c2.Certificate(ctx, want.BatchRoot)
		if err != nil {
			t.Fatalf("after restart: %v", err)
		}
		a, _ := got.Certificate.MarshalBinary()
		b, _ := want.MarshalBinary()
		if !bytes.Equal(a, b) {
			t.Fatal("certificate changed across the restart")
		}
	}
	si, err := c2.Signer(ctx, newKey.PublicKey().Bytes())
	if err != nil || si.Index != 4 || si.Nonce != 1 {
		t.Fatalf("registered signer after restart: %v %+v", err, si)
	}
	ep, err := c2.Epoch(ctx, next.Epoch)
	if err != nil || len(ep.VRFs) != 1 || ep.VRFs[0].Signer != 0 {
		t.Fatalf("VRF after restart: %v %+v", err, ep)
	}
	// The replayed certificate is still refused after the restart.
	_, err = c2.Submit(ctx, certTx(t, cert))
	wantErr(t, "replay after restart", err, ErrDuplicate)
}

// A chain whose genesis sets initial_height 5 produces blocks from 5 on.
func TestNodeInitialHeight(t *testing.T) {
	g, keys, _ := testGenesis(t, 4, 3)
	home := t.TempDir()
	if err := InitHome(home, InitOptions{ChainID: testChainID, Genesis: g, Config: testNodeConfig(t, false), InitialHeight: 5}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 60*time.Second)
	n, err := StartNode(ctx, home, nodeOpts("ih")...)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	c := n.Client()
	if err := c.WaitForHeight(ctx, 7); err != nil {
		t.Fatalf("chain with initial_height 5: %v (at height %d)", err, n.Height())
	}
	ep, err := c.Epoch(ctx, 0)
	if err != nil || ep.StartHeight != 5 || ep.EndHeight != 7 {
		t.Fatalf("epoch 0: %v %+v", err, ep)
	}
	res, err := c.Submit(ctx, certTx(t, certify(t, keys, testChainID, 0, 0, blobs("ih-node", 1, 1), 0, 1, 2)))
	if err != nil || res.Height < 7 {
		t.Fatalf("certificate: %v %+v", err, res)
	}
}

// Four validators on loopback in one process: blocks advance with one app
// hash, the chain goes on with one validator stopped, and the stopped one
// catches up when restarted.
func TestNetworkFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four validators")
	}
	g, keys, _ := testGenesis(t, 4, 1<<20)
	dir := t.TempDir()
	homes, err := InitNetwork(dir, 4, 0, InitOptions{ChainID: testChainID, Genesis: g, Config: TestConfig()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 90*time.Second)
	nodes := make([]*Node, 4)
	for i, home := range homes {
		if nodes[i], err = StartNode(ctx, home, nodeOpts(strconv.Itoa(i))...); err != nil {
			t.Fatal(err)
		}
		defer func(n *Node) { n.Stop() }(nodes[i])
	}
	waitAll := func(ns []*Node, h int64) {
		t.Helper()
		for _, n := range ns {
			if err := n.Client().WaitForHeight(ctx, h); err != nil {
				t.Fatalf("%s: %v", n.Home(), err)
			}
		}
	}
	sameHash := func(ns []*Node, h int64) {
		t.Helper()
		var first []byte
		for i, n := range ns {
			got, ok := n.App().AppHashAt(h)
			if !ok {
				t.Fatalf("node %d has no app hash for height %d", i, h)
			}
			if i == 0 {
				first = got
			} else if !bytes.Equal(got, first) {
				t.Fatalf("height %d: node %d app hash %X, node 0 %X", h, i, got, first)
			}
		}
	}
	waitAll(nodes, 5)
	for h := int64(1); h <= 5; h++ {
		sameHash(nodes, h)
	}

	cert := certify(t, keys, testChainID, 0, 0, blobs("net", 2, 1), 0, 1, 2)
	res, err := nodes[0].Client().Submit(ctx, certTx(t, cert))
	if err != nil {
		t.Fatal(err)
	}
	waitAll(nodes, res.Height)
	for i, n := range nodes {
		if _, err := n.Client().Certificate(ctx, cert.BatchRoot); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}

	// Stop validator 3; the other three hold 3/4 of the power and go on.
	stoppedAt := nodes[3].Height()
	if err := nodes[3].Stop(); err != nil {
		t.Fatal(err)
	}
	live := nodes[:3]
	target := live[0].Height() + 8
	waitAll(live, target)
	sameHash(live, target)
	cert2 := certify(t, keys, testChainID, 0, 0, blobs("net-2", 2, 1), 1, 2, 3)
	res2, err := nodes[1].Client().Submit(ctx, certTx(t, cert2))
	if err != nil {
		t.Fatal(err)
	}

	// Restart validator 3: it catches up, with the same app hashes.
	n3, err := StartNode(ctx, homes[3], nodeOpts("3b")...)
	if err != nil {
		t.Fatal(err)
	}
	defer n3.Stop()
	nodes[3] = n3
	if n3.Height() < stoppedAt {
		t.Fatalf("restarted at %d, below %d", n3.Height(), stoppedAt)
	}
	catchUp := live[0].Height() + 2
	waitAll(nodes, catchUp)
	sameHash(nodes, catchUp)
	if got, err := n3.Client().Certificate(ctx, cert2.BatchRoot); err != nil || got.Height != res2.Height {
		t.Fatalf("restarted validator: %v", err)
	}
	// And it takes part again: a transaction through it lands.
	cert3 := certify(t, keys, testChainID, 0, 0, blobs("net-3", 1, 1), 0, 2, 3)
	if _, err := n3.Client().Submit(ctx, certTx(t, cert3)); err != nil {
		t.Fatal(err)
	}
}

// A malformed genesis or config fails at start and names the field.
func TestStartRejectsBadFiles(t *testing.T) {
	g, _, _ := testGenesis(t, 1, 10)
	home := t.TempDir()
	if err := InitHome(home, InitOptions{ChainID: testChainID, Genesis: g, Config: testNodeConfig(t, false)}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(home, ConfigFile)
	genPath := filepath.Join(home, GenesisFile)
	cfgOrig, _ := os.ReadFile(cfgPath)
	genOrig, _ := os.ReadFile(genPath)
	for _, tc := range []struct {
		name       string
		file, from string
		to         string
		want       string
	}{
		{"config: bad duration", cfgPath, `"timeout_commit": "20ms"`, `"timeout_commit": "soon"`, "duration \"soon\""},
		{"config: unknown field", cfgPath, `"moniker"`, `"monicker"`, `unknown field "monicker"`},
		{"config: public RPC", cfgPath, `"listen": ""`, `"listen": "0.0.0.0:26657"`, "rpc.listen"},
		{"config: log level", cfgPath, `"log_level": "none"`, `"log_level": "loud"`, "node.log_level"},
		{"config: mempool", cfgPath, `"max_tx_bytes": 1048576`, `"max_tx_bytes": 100`, "mempool.max_tx_bytes"},
		{"genesis: quorum size", genPath, `"quorum_size": 1024`, `"quorum_size": 1000`, "app_state.params.quorum_size"},
		{"genesis: epoch length", genPath, `"epoch_length": 10`, `"epoch_length": 0`, "app_state.params.epoch_length"},
		{"genesis: unknown app_state field", genPath, `"signers"`, `"signerz"`, `unknown field "signerz"`},
		{"genesis: pop", genPath, `"pop": "0x`, `"pop": "0x1`, "pop"},
		{"genesis: not JSON", genPath, `{`, `[`, "genesis.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(cfgPath, cfgOrig, 0o600)
			os.WriteFile(genPath, genOrig, 0o600)
			orig := cfgOrig
			if tc.file == genPath {
				orig = genOrig
			}
			if !bytes.Contains(orig, []byte(tc.from)) {
				t.Fatalf("%s has no %s", tc.file, tc.from)
			}
			os.WriteFile(tc.file, bytes.Replace(orig, []byte(tc.from), []byte(tc.to), 1), 0o600)
			n, err := StartNode(ctxT(t, 10*time.Second), home)
			if err == nil {
				n.Stop()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
	os.WriteFile(cfgPath, cfgOrig, 0o600)
	os.WriteFile(genPath, genOrig, 0o600)
	n, err := StartNode(ctxT(t, 10*time.Second), home)
	if err != nil {
		t.Fatalf("restored files: %v", err)
	}
	n.Stop()
	if _, err := StartNode(ctxT(t, 10*time.Second), t.TempDir()); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "zgda chain init") {
		t.Fatalf("empty home: %v", err)
	}
}
