package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/devnet"
	"github.com/zgda/zgda/internal/p2pkey"
)

// TestServeCommand runs `zgda serve` against the chain and DA nodes of a
// devnet, as an operator would against an external network.
func TestServeCommand(t *testing.T) {
	ports, err := chain.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := devnet.TestConfig(t.TempDir())
	cfg.RPC = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := devnet.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	if _, err := run(t, "serve", "--home", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--chain-rpc") {
		t.Fatalf("serve without --chain-rpc: %v", err)
	}
	// serve's identity (created on its first start), registered as a
	// disperser by the devnet's registrar.
	home := t.TempDir()
	id, err := p2pkey.Load(filepath.Join(home, "p2p", "identity.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.RegisterDisperser(ctx, chain.DisperserKey(p2pkey.PublicKey(id)), 1<<30); err != nil {
		t.Fatal(err)
	}
	apiRe := regexp.MustCompile(`API (http://127\.0\.0\.1:\d+)`)
	buf, m, stop := startCommand(t, apiRe, "serve", "--home", home, "--chain-rpc", n.RPCAddress(),
		"--api", "127.0.0.1:0", "--log-level", "warn")
	cl := client.New(m[1], client.WithPollInterval(20*time.Millisecond))
	blob := bytes.Repeat([]byte("served "), 3000)
	r, err := cl.Put(ctx, blob)
	if err == nil {
		_, err = cl.WaitCertified(ctx, r.BlobKey)
	}
	var back []byte
	if err == nil {
		back, err = cl.Get(ctx, r.BlobKey)
	}
	if serr := stop(); serr != nil {
		t.Fatalf("serve: %v\n%s", serr, buf.String())
	}
	if err != nil || !bytes.Equal(back, blob) {
		t.Fatalf("through serve: %v\n%s", err, buf.String())
	}
	if _, err := n.Chain().Client().CertificateForBlob(ctx, r.BlobKey); err != nil {
		t.Fatal(fmt.Errorf("certificate not on the devnet's chain: %w", err))
	}
}
