package devnet_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/devnet"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/engine/api"
)

const (
	childDirEnv = "ZGDA_DEVNET_CHILD_DIR"
	childAPIEnv = "ZGDA_DEVNET_CHILD_API"
)

// TestDevnetChild is not a test: it is the devnet process that
// TestSIGKILLRestart starts and kills (the test binary re-executed).
func TestDevnetChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("runs only as TestSIGKILLRestart's child process")
	}
	cfg := devnet.TestConfig(dir)
	cfg.API = os.Getenv(childAPIEnv)
	cfg.Engine = func(c *engine.Config) {
		// Small batches, one at a time: blobs queue up behind dispersal.
		c.Batcher.MinRows, c.Batcher.MaxRows = 2, 2
		c.Dispersal.Concurrency = 1
	}
	n, err := devnet.Start(context.Background(), cfg)
	if err != nil {
		fmt.Println("FAILED", err)
		os.Exit(1)
	}
	fmt.Println("READY", n.URL())
	select {} // until killed
}

type child struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// startChild runs the devnet in a child process on dir and waits until its
// API answers.
func startChild(t *testing.T, dir, api string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDevnetChild$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childAPIEnv+"="+api)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: &stderr}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "READY") || strings.HasPrefix(l, "FAILED") {
				ready <- l
			}
		}
		io.Copy(io.Discard, out)
		close(ready)
	}()
	select {
	case l, ok := <-ready:
		if !ok || !strings.HasPrefix(l, "READY") {
			c.kill()
			t.Fatalf("child did not start: %q\n%s", l, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		c.kill()
		t.Fatalf("child start timed out\n%s", stderr.String())
	}
	return c
}

func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

// TestSIGKILLRestart kills the devnet process (SIGKILL) while accepted
// blobs are queued and a batch is being dispersed, restarts it on the same
// directory, and checks that every accepted blob reaches certified and
// reads back identical.
func TestSIGKILLRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet process three times")
	}
	dir := t.TempDir()
	ports, err := chain.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	base := "http://" + addr
	cl := client.New(base, client.WithPollInterval(20*time.Millisecond),
		client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}))
	ctx := ctxT(t, 5*time.Minute)

	accepted := map[da.BlobKey][]byte{}
	for round := 0; round < 2; round++ {
		c := startChild(t, dir, addr)
		// Post a burst of blobs from a few clients.
		const n = 16
		var mu sync.Mutex
		var wg sync.WaitGroup
		var keys []da.BlobKey
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n/4; i++ {
					b := randBlob(t, 20_000+w*1000+i)
					r, err := cl.Put(ctx, b)
					if err != nil {
						t.Errorf("round %d put: %v", round, err)
						return
					}
					mu.Lock()
					accepted[r.BlobKey] = b
					keys = append(keys, r.BlobKey)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			c.kill()
			t.FailNow()
		}
		// Kill once a batch is in dispersal (or past it) and others still wait.
		var seen map[api.Status]int
		deadline := time.Now().Add(time.Minute)
		for {
			seen = map[api.Status]int{}
			for _, k := range keys {
				if s, err := cl.Status(ctx, k); err == nil {
					seen[s.Status]++
				}
			}
			if seen[api.StatusDispersing]+seen[api.StatusCertified] > 0 && seen[api.StatusQueued]+seen[api.StatusEncoding] > 0 {
				break
			}
			if time.Now().After(deadline) {
				c.kill()
				t.Fatalf("round %d: never saw queued and dispersing blobs together: %v", round, seen)
			}
			time.Sleep(5 * time.Millisecond)
		}
		c.kill()
		t.Logf("round %d: SIGKILL with statuses %v", round, seen)
	}

	c := startChild(t, dir, addr)
	defer c.kill()
	for k, b := range accepted {
		if _, err := cl.WaitCertified(ctx, k); err != nil {
			t.Fatalf("%s after restarts: %v\n%s", k, err, c.stderr.String())
		}
		back, err := cl.Get(ctx, k)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("%s after restarts: read back %d bytes, %v", k, len(back), err)
		}
	}
	t.Logf("all %d accepted blobs certified and identical after 2 SIGKILLs", len(accepted))
}
