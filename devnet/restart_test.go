package devnet_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/devnet"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
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

// post is one POST /v1/blobs of a poster in TestSIGKILLRestart.
type post struct {
	data    []byte
	round   int
	wrote   atomic.Bool // the request went out in full
	key     da.BlobKey  // the answer's, when accepted
	outcome postOutcome
}

type postOutcome int

const (
	postAccepted postOutcome = iota + 1 // 202
	postRefused                         // another HTTP answer (429, 503, …)
	postCut                             // written in full, no answer: the process died
	postUnsent                          // no connection, or cut before the request was written
)

// killRound runs posters against the child until accepted ≥ trigger posts
// of this round got their 202 and at least one written post is still
// waiting for its answer, SIGKILLs the child at that moment and waits for
// the posters to see it. It returns the round's posts and how many were in
// flight when the kill was decided.
func killRound(t *testing.T, ctx context.Context, cl *client.Client, c *child, round, posters, trigger int) ([]*post, int64) {
	t.Helper()
	var (
		mu                       sync.Mutex
		posts                    []*post
		wrote, finished, accepts atomic.Int64
		stop                     atomic.Bool
		wg                       sync.WaitGroup
	)
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	for w := 0; w < posters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				p := &post{data: randBlob(t, 3000+round*997+w*101+i*13), round: round}
				mu.Lock()
				posts = append(posts, p)
				mu.Unlock()
				pctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
					WroteRequest: func(info httptrace.WroteRequestInfo) {
						if info.Err == nil && p.wrote.CompareAndSwap(false, true) {
							wrote.Add(1)
							notify()
						}
					},
				})
				r, err := cl.Put(pctx, p.data)
				var ae *client.Error
				switch {
				case err == nil:
					p.key, p.outcome = r.BlobKey, postAccepted
					accepts.Add(1)
				case errors.As(err, &ae):
					p.outcome = postRefused
				case p.wrote.Load():
					p.outcome = postCut
				default:
					p.outcome = postUnsent
				}
				if p.wrote.Load() {
					finished.Add(1)
				}
				notify()
			}
		}()
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	var inflight int64
	for {
		select {
		case <-changed:
		case <-deadline.C:
			stop.Store(true)
			c.kill()
			wg.Wait()
			t.Fatalf("round %d: never had %d accepted and one post in flight (accepted %d, written %d, finished %d)",
				round, trigger, accepts.Load(), wrote.Load(), finished.Load())
		}
		// finished is read before wrote: a post counted finished was counted
		// written first, so inflight is never overstated.
		f := finished.Load()
		if inflight = wrote.Load() - f; accepts.Load() >= int64(trigger) && inflight >= 1 {
			break
		}
	}
	stop.Store(true)
	c.kill()
	wg.Wait()
	return posts, inflight
}

// TestSIGKILLRestart SIGKILLs the devnet process five times while posts
// are in flight — posters running, at least one post written and not yet
// answered — restarting it on the same directory each time, and checks after
// the last restart that every post answered 202 is certified and reads back
// identical, and that every post the kill left unanswered is either absent
// (404) or just as complete: never present but broken, never stuck.
func TestSIGKILLRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet process six times")
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
	ctx := ctxT(t, 3*time.Minute)

	const rounds, posters = 5, 3
	var all []*post
	for round := 0; round < rounds; round++ {
		c := startChild(t, dir, addr)
		t0 := time.Now()
		posts, inflight := killRound(t, ctx, cl, c, round, posters, 2+round)
		n := map[postOutcome]int{}
		for _, p := range posts {
			n[p.outcome]++
		}
		all = append(all, posts...)
		t.Logf("round %d: SIGKILL after %v with %d posts in flight: %d accepted, %d refused, %d cut (written, unanswered), %d unsent",
			round, time.Since(t0).Round(time.Millisecond), inflight, n[postAccepted], n[postRefused], n[postCut], n[postUnsent])
	}

	c := startChild(t, dir, addr)
	defer c.kill()
	t0 := time.Now()
	var accepted, cut, absent, complete int
	for _, p := range all {
		switch p.outcome {
		case postAccepted:
			accepted++
			if _, err := cl.WaitCertified(ctx, p.key); err != nil {
				t.Fatalf("round %d: accepted blob %s after the restarts: %v\n%s", p.round, p.key, err, c.stderr.String())
			}
			back, err := cl.Get(ctx, p.key)
			if err != nil || !bytes.Equal(back, p.data) {
				t.Fatalf("round %d: accepted blob %s after the restarts: read back %d bytes, %v", p.round, p.key, len(back), err)
			}
			continue
		case postCut:
			cut++
		}
		// Unanswered (or refused): absent, or complete.
		key := blobKeyOf(t, p.data)
		if _, err := cl.Status(ctx, key); errors.Is(err, api.ErrNotFound) {
			absent++
			continue
		} else if err != nil {
			t.Fatalf("round %d: status of unanswered blob %s: %v", p.round, key, err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := cl.WaitCertified(wctx, key)
		cancel()
		if err != nil {
			t.Fatalf("round %d: unanswered blob %s is present but not complete: %v\n%s", p.round, key, err, c.stderr.String())
		}
		back, err := cl.Get(ctx, key)
		if err != nil || !bytes.Equal(back, p.data) {
			t.Fatalf("round %d: unanswered blob %s is certified but reads back %d bytes, %v", p.round, key, len(back), err)
		}
		complete++
	}
	t.Logf("after %d SIGKILLs: %d accepted blobs certified and identical; of %d other posts (%d cut in flight) %d absent, %d complete; checked in %v",
		rounds, accepted, len(all)-accepted, cut, absent, complete, time.Since(t0).Round(time.Millisecond))
	if cut == 0 {
		t.Fatal("no post was ever cut by a kill: the test did not kill while posts were in flight")
	}
}

// blobKeyOf computes the key a disperser gives data (docs/spec.md §3.2).
func blobKeyOf(t *testing.T, data []byte) da.BlobKey {
	t.Helper()
	rows, err := encoder.Pack(data)
	if err != nil {
		t.Fatal(err)
	}
	comms, err := kzg.Default().CommitRows(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	return encoder.BlobKey(len(data), comms)
}
