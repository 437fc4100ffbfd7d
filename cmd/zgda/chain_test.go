package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
)

// runChain runs 'zgda chain ...' with fresh flags.
func runChain(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return run(t, append([]string{"chain"}, args...)...)
}

// syncBuffer is a bytes.Buffer safe for the command's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestChainInitStart(t *testing.T) {
	dir := t.TempDir()
	out, err := runChain(t, "init", "--home", dir, "--validators", "2", "--base-port", "0",
		"--chain-id", "zgda-cli", "--epoch-length", "7")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, h := range []string{"node0", "node1"} {
		c, err := chain.LoadConfig(filepath.Join(dir, h))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.P2P.PersistentPeers) != 1 || c.RPC.Listen == "" {
			t.Fatalf("%s config %+v", h, c)
		}
	}
	if out, err := runChain(t, "init", "--home", dir, "--validators", "2", "--base-port", "0"); err == nil {
		t.Fatalf("second init succeeded: %s", out)
	}
	if _, err := runChain(t, "init", "--home", t.TempDir(), "--registrar", "0x12"); err == nil ||
		!strings.Contains(err.Error(), "--registrar") {
		t.Fatalf("bad registrar: %v", err)
	}

	// Start both validators in one process, watch blocks over RPC, stop.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var buf syncBuffer
	freshCLI(&buf, []string{"chain", "start", "--home", dir})
	done := make(chan error, 1)
	go func() { done <- rootCmd.ExecuteContext(ctx) }()
	rpcRe := regexp.MustCompile(`rpc (http://127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(60 * time.Second)
	for len(rpcRe.FindAllString(buf.String(), -1)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no start output: %s", buf.String())
		}
		select {
		case err := <-done:
			t.Fatalf("start returned %v: %s", err, buf.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	addr := rpcRe.FindStringSubmatch(buf.String())[1]
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	c, err := chain.Dial(wctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if c.ChainID() != "zgda-cli" {
		t.Fatalf("chain id %q", c.ChainID())
	}
	if err := c.WaitForHeight(wctx, 3); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(wctx)
	if err != nil || st.Params.EpochLength != 7 {
		t.Fatalf("status %+v %v", st, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "stopping") {
		t.Fatalf("output: %s", buf.String())
	}
	if _, err := runChain(t, "start", "--home", t.TempDir()); err == nil || !strings.Contains(err.Error(), "zgda chain init") {
		t.Fatalf("start on an empty dir: %v", err)
	}
}

// init prints the safety bound of its parameters (docs/spec.md §4.2), and
// writes W to genesis.
func TestChainInitSafety(t *testing.T) {
	initArgs := func(dir string, more ...string) []string {
		return append([]string{"init", "--home", dir, "--base-port", "0"}, more...)
	}
	genesisW := func(dir string) uint32 {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(dir, chain.GenesisFile))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			AppState json.RawMessage `json:"app_state"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		g, err := chain.ParseGenesisState(doc.AppState)
		if err != nil {
			t.Fatal(err)
		}
		return g.Params.MinBatchSlots
	}

	dir := t.TempDir()
	out, err := runChain(t, initArgs(dir)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"window of S = 256 of M = 1024 slots",
		"faulty ticket share 1/4: 3.1e-09 per window, ≤ 3.2e-06 per quorum and epoch\n",
		"faulty ticket share 1/3: 0.0029 per window, ≤ 1 per quorum and epoch (no guarantee",
		"min_batch_slots = quorum_size = 1024",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("default init output lacks %q:\n%s", want, out)
		}
	}
	if w := genesisW(dir); w != 256 {
		t.Errorf("genesis min_batch_slots %d, want the default 256", w)
	}
	// --base-port 0 picks free ports for a single validator too.
	c, err := chain.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{c.P2P.Listen, c.RPC.Listen} {
		if _, port, _ := net.SplitHostPort(addr); port == "0" || port == "1" || port == "" {
			t.Errorf("listen address %q with --base-port 0", addr)
		}
	}

	whole := t.TempDir()
	out, err = runChain(t, initArgs(whole, "--min-batch-slots", "1024")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"window of S = 1024 of M = 1024 slots",
		"faulty ticket share 1/3: 1.4e-08 per window, ≤ 1.4e-08 per quorum and epoch\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("W = M init output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "no guarantee") || strings.Contains(out, "makes every window the whole quorum") {
		t.Errorf("W = M output:\n%s", out)
	}
	if w := genesisW(whole); w != 1024 {
		t.Errorf("genesis min_batch_slots %d, want 1024", w)
	}

	bad := t.TempDir()
	if out, err := runChain(t, initArgs(bad, "--min-batch-slots", "2048")...); err == nil || !strings.Contains(err.Error(), "min_batch_slots") {
		t.Fatalf("W = 2048 > M: %v\n%s", err, out)
	}
	if chain.IsInitialized(bad) {
		t.Fatal("a refused init wrote a home")
	}

	help, err := runChain(t, "init", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"defaults, W = 256, M = 1024:", "b = 1/3: 0.0029, ≤ 1", "W = M = 1024:", "b = 1/3: 1.4e-08, ≤ 1.4e-08"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}

// TestChainInitInitialHeight: --initial-height lands in the genesis
// (chain's TestNodeInitialHeight shows such a chain makes blocks), and a
// negative one is refused.
func TestChainInitInitialHeight(t *testing.T) {
	dir := t.TempDir()
	if out, err := runChain(t, "init", "--home", dir, "--base-port", "0", "--initial-height", "5"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, chain.GenesisFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		InitialHeight json.Number `json:"initial_height"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.InitialHeight != "5" {
		t.Fatalf("genesis initial_height %q (%v), want 5", doc.InitialHeight, err)
	}
	if _, err := runChain(t, "init", "--home", t.TempDir(), "--base-port", "0", "--initial-height", "-1"); err == nil || !strings.Contains(err.Error(), "--initial-height") {
		t.Fatalf("negative --initial-height: %v", err)
	}
}
