package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/engine/api"
)

// TestAltDAPutDrainsOnShutdown: Close lets a waiting /put get its
// certificate (the pipeline keeps running), and one that cannot get it in
// AltDA.DrainTimeout is told to retry (429, Retry-After), never 503, which
// op-batcher takes for "fail over to L1".
func TestAltDAPutDrainsOnShutdown(t *testing.T) {
	for _, certify := range []bool{true, false} {
		t.Run(fmt.Sprintf("certified_during_drain=%v", certify), func(t *testing.T) {
			e, d, _, base := httpEngine(t, func(c *Config) { c.AltDA.DrainTimeout = Duration(10 * time.Second) })
			if !certify {
				e.cfg.AltDA.DrainTimeout = Duration(200 * time.Millisecond)
			}
			release := make(chan struct{})
			d.set(func(f *fakeDisperser) { f.block = release; f.started = make(chan struct{}, 1) })
			type answer struct {
				status int
				retry  string
				body   string
			}
			done := make(chan answer, 1)
			go func() {
				resp, err := http.Post(base+"/put", "application/octet-stream", strings.NewReader("rollup frame"))
				if err != nil {
					done <- answer{body: err.Error()}
					return
				}
				defer resp.Body.Close()
				var b strings.Builder
				bufio.NewReader(resp.Body).WriteTo(&b)
				done <- answer{resp.StatusCode, resp.Header.Get("Retry-After"), b.String()}
			}()
			<-d.started // dispersing: the /put waits for its certificate
			closed := make(chan error, 1)
			go func() { closed <- e.Close() }()
			waitFor(t, "Close to refuse new posts", func() bool {
				e.mu.Lock()
				defer e.mu.Unlock()
				return e.closed
			})
			if _, err := e.Put(context.Background(), []byte("late")); !errors.Is(err, ErrClosed) {
				t.Fatalf("post during the drain: %v, want ErrClosed", err)
			}
			if certify {
				close(release)
			}
			a := <-done
			if err := <-closed; err != nil {
				t.Fatal(err)
			}
			if !certify {
				close(release)
			}
			switch {
			case certify && a.status != http.StatusOK:
				t.Fatalf("/put certified during the drain answered %d %s", a.status, a.body)
			case !certify && (a.status != http.StatusTooManyRequests || a.retry == "" || !strings.Contains(a.body, string(api.CodeShuttingDown))):
				t.Fatalf("/put cut off by shutdown answered %d (Retry-After %q) %s; want 429 shutting_down", a.status, a.retry, a.body)
			}
		})
	}
}

// TestAltDAPutStuckPipeline: a full queue answers /put 429 (retry) while
// the pipeline moves, and 503 (fail over) once its oldest blob has waited
// longer than AltDA.PutTimeout: the DA layer cannot certify in time.
func TestAltDAPutStuckPipeline(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	d, c := newFakeDisperser(), newFakeChain()
	cfg := testConfig(t, tempDir(t))
	cfg.API = TestAPIConfig()
	cfg.Queue.MaxPendingBlobs = 1
	d.block = make(chan struct{})
	e := startEngine(t, cfg, d, c, WithClock(clock))
	defer close(d.block)
	base := "http://" + e.APIAddr()
	if _, err := client.New(base).Put(context.Background(), []byte("stuck")); err != nil {
		t.Fatal(err)
	}
	status, _, body := call(t, "POST", base+"/put", []byte("next"))
	if status != http.StatusTooManyRequests {
		t.Fatalf("/put on a full queue: %d %s, want 429", status, body)
	}
	mu.Lock()
	now = now.Add(time.Duration(cfg.AltDA.PutTimeout) + time.Second)
	mu.Unlock()
	status, _, body = call(t, "POST", base+"/put", []byte("next"))
	var eb api.ErrorBody
	json.Unmarshal(body, &eb)
	if status != http.StatusServiceUnavailable || eb.Code != api.CodeNotCertified || !strings.Contains(eb.Error, "oldest") {
		t.Fatalf("/put on a stuck full queue: %d %s, want 503 not_certified", status, body)
	}
	// The native API keeps answering 429: its clients do not fail over.
	if status, _, _ := call(t, "POST", base+"/v1/blobs", []byte("next")); status != http.StatusTooManyRequests {
		t.Fatalf("POST /v1/blobs on a stuck full queue: %d, want 429", status)
	}
}

// TestConnectionCap: a connection over API.MaxConnections is answered 429
// in the API's JSON with Retry-After and closed (not fasthttp's plain-text
// 503), and the server serves again once one closes.
func TestConnectionCap(t *testing.T) {
	e, _, _, base := httpEngine(t, func(c *Config) { c.API.MaxConcurrentRequests, c.API.MaxConnections = 1, 2 })
	addr := e.APIAddr()
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	waitFor(t, "two connections tracked", func() bool {
		e.http.ln.mu.Lock()
		defer e.http.ln.mu.Unlock()
		return len(e.http.ln.conns) == 2
	})
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var eb api.ErrorBody
	err = json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || err != nil || eb.Code != api.CodeTooManyRequests ||
		resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("over the connection cap: %d %+v (%v)", resp.StatusCode, eb, err)
	}
	held[0].Close()
	waitFor(t, "a connection freed", func() bool {
		e.http.ln.mu.Lock()
		defer e.http.ln.mu.Unlock()
		return len(e.http.ln.conns) < 2
	})
	tr := &http.Transport{DisableKeepAlives: true}
	resp, err = (&http.Client{Transport: tr}).Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after one closed: %v %v", resp, err)
	}
	resp.Body.Close()
}
