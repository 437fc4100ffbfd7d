package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
)

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
	out, err := run(t, "chain", "init", "--home", dir, "--validators", "2", "--base-port", "0",
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
	if out, err := run(t, "chain", "init", "--home", dir, "--validators", "2", "--base-port", "0"); err == nil {
		t.Fatalf("second init succeeded: %s", out)
	}
	if _, err := run(t, "chain", "init", "--home", t.TempDir(), "--registrar", "0x12"); err == nil ||
		!strings.Contains(err.Error(), "--registrar") {
		t.Fatalf("bad registrar: %v", err)
	}

	// Start both validators in one process, watch blocks over RPC, stop.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer rootCmd.SetContext(context.Background()) // the next command must not inherit ctx
	var buf syncBuffer
	rootCmd.SetOut(&buf)
	rootCmd.SetErr(&buf)
	rootCmd.SetArgs([]string{"chain", "start", "--home", dir})
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
	if _, err := run(t, "chain", "start", "--home", t.TempDir()); err == nil || !strings.Contains(err.Error(), "zgda chain init") {
		t.Fatalf("start on an empty dir: %v", err)
	}
}
