package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/internal/p2pkey"
	"github.com/zgda/zgda/signer"
	"github.com/zgda/zgda/signer/node"
)

// lockedBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestNodeInitStart(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(pw, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// A chain with RPC whose registrar key we hold.
	reg, err := signer.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	regFile := filepath.Join(dir, "registrar.json")
	raw, err := signer.EncryptKeystore(reg, "correct horse", signer.WithPBKDF2(signer.DefaultPBKDF2Iterations))
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.WriteKeystoreFile(regFile, raw); err != nil {
		t.Fatal(err)
	}
	g := chain.DefaultGenesisState()
	pk := reg.PublicKey().Bytes()
	g.Registrar = &pk
	ports, err := chain.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	cc := chain.TestConfig()
	cc.P2P.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	cc.RPC.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	chainHome := filepath.Join(dir, "chain")
	if err := chain.InitHome(chainHome, chain.InitOptions{ChainID: "zgda-node-cli", Genesis: g, Config: cc}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cn, err := chain.StartNode(ctx, chainHome)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Stop()

	home := filepath.Join(dir, "node")
	// The node verifies the chain from its trust root.
	if err := cn.Client().WaitForHeight(ctx, 1); err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(dir, "trust.json")
	if err := cn.WriteTrustFile(trust); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "node", "init", "--home", home, "--chain-rpc", cn.RPCAddress(), "--password-file", pw, "--kdf", "pbkdf2", "--trust", trust)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`pubkey\s+(0x[0-9a-f]{96})`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "peer id") {
		t.Fatalf("init output:\n%s", out)
	}
	var nodePK da.PublicKey
	if err := nodePK.UnmarshalText([]byte(m[1])); err != nil {
		t.Fatal(err)
	}
	cfg, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Chain.RPC != cn.RPCAddress() || cfg.Key.PasswordFile != pw || cfg.Chain.TrustFile == "" || !strings.Contains(out, "every chain answer verified") {
		t.Fatalf("config %+v\n%s", cfg, out)
	}
	for _, f := range []string{cfg.KeystorePath(), filepath.Join(home, cfg.P2P.IdentityFile)} {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, err, st)
		}
	}
	if st, err := os.Stat(cfg.VolumePaths()[0]); err != nil || !st.IsDir() {
		t.Fatalf("volume: %v", err)
	}
	if out, err := run(t, "node", "init", "--home", home, "--chain-rpc", cn.RPCAddress(), "--password-file", pw, "--kdf", "pbkdf2"); err == nil ||
		!strings.Contains(err.Error(), "already a node home") {
		t.Fatalf("second init: %v\n%s", err, out)
	}

	// Start without the registrar: the chain does not know the key.
	if _, err := run(t, "node", "start", "--home", home); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("start unregistered: %v", err)
	}

	// Start with it: registered with its libp2p address, then stopped.
	sctx, scancel := context.WithCancel(context.Background())
	defer scancel()
	var buf lockedBuffer
	freshCLI(&buf, []string{"node", "start", "--home", home, "--registrar-keystore", regFile,
		"--registrar-password-file", pw, "--metrics", "127.0.0.1:0", "--log-level", "warn"})
	done := make(chan error, 1)
	go func() { done <- rootCmd.ExecuteContext(sctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(buf.String(), "listening /ip4/127.0.0.1/tcp/") {
		if time.Now().After(deadline) {
			t.Fatalf("no start output: %s", buf.String())
		}
		select {
		case err := <-done:
			t.Fatalf("start returned %v: %s", err, buf.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	info, err := cn.Client().Signer(ctx, nodePK)
	if err != nil || len(info.Addrs) == 0 || !strings.Contains(buf.String(), info.Addrs[0]) {
		t.Fatalf("registration %+v %v\n%s", info, err, buf.String())
	}
	if !strings.Contains(buf.String(), "/metrics") {
		t.Fatalf("no metrics address: %s", buf.String())
	}
	scancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "stopping") {
		t.Fatalf("output: %s", buf.String())
	}

	// With the registrar given, a wrong password is refused before anything
	// starts.
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("wrong\n"), 0o600)
	if _, err := run(t, "node", "start", "--home", home, "--password-file", bad,
		"--registrar-keystore", regFile, "--registrar-password-file", pw); err == nil || !strings.Contains(err.Error(), "key.keystore") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := run(t, "node", "start", "--home", t.TempDir()); err == nil || !strings.Contains(err.Error(), "zgda node init") {
		t.Fatalf("start on an empty dir: %v", err)
	}

	// The registrar registers a disperser by peer id, then changes its
	// quota; the chain keeps the last one, with the nonce counted on.
	id := p2pkey.FromSeed([]byte("cli test"), "disperser")
	dkey := chain.DisperserKey(p2pkey.PublicKey(id))
	for i, q := range []string{"64GiB", "1TiB"} {
		out, err := run(t, "chain", "register-disperser", p2pkey.PeerID(id), "--quota", q, "--chain-rpc", cn.RPCAddress(),
			"--registrar-keystore", regFile, "--registrar-password-file", pw)
		if err != nil || !strings.Contains(out, dkey.String()) {
			t.Fatalf("register-disperser %s: %v\n%s", q, err, out)
		}
		d, err := cn.Client().Disperser(ctx, dkey)
		if err != nil || d.Nonce != uint64(i+1) {
			t.Fatalf("after %s: %+v %v", q, d, err)
		}
	}
	if d, _ := cn.Client().Disperser(ctx, dkey); d.Quota != 1<<40 {
		t.Fatalf("quota %d, want 1 TiB", d.Quota)
	}
	if _, err := run(t, "chain", "register-disperser", "not-a-peer", "--quota", "1GiB", "--chain-rpc", cn.RPCAddress(),
		"--registrar-keystore", regFile, "--registrar-password-file", pw); err == nil || !strings.Contains(err.Error(), "peer id") {
		t.Fatalf("a bad peer id: %v", err)
	}
	if _, err := run(t, "chain", "register-disperser", p2pkey.PeerID(id), "--quota", "lots", "--chain-rpc", cn.RPCAddress(),
		"--registrar-keystore", regFile, "--registrar-password-file", pw); err == nil || !strings.Contains(err.Error(), "--quota") {
		t.Fatalf("a bad quota: %v", err)
	}
}
