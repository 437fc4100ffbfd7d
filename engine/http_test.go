package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
)

func httpEngine(t *testing.T, mod func(*Config)) (*Engine, *fakeDisperser, *fakeChain, string) {
	t.Helper()
	d, c := newFakeDisperser(), newFakeChain()
	cfg := testConfig(t, tempDir(t))
	if mod != nil {
		mod(&cfg)
	}
	e := startEngine(t, cfg, d, c)
	return e, d, c, "http://" + e.APIAddr()
}

// call sends a raw request and returns status, headers and body.
func call(t *testing.T, method, url string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestHTTPBadInput(t *testing.T) {
	e, _, _, base := httpEngine(t, func(c *Config) { c.API.MaxBodyBytes = 4096 })
	key := strings.Repeat("ab", 32)
	root := "/v1/batches/0x" + key
	commit := func(b0, b1, b2 byte) string {
		return fmt.Sprintf("0x%02x%02x%02x%s", b0, b1, b2, key)
	}
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		status             int
		code               api.Code
		mention            string
	}{
		{"empty body", "POST", "/v1/blobs", []byte{}, 400, api.CodeEmptyBlob, "empty"},
		{"over body limit", "POST", "/v1/blobs", make([]byte, 5000), 413, api.CodeBlobTooLarge, "4096"},
		{"altda empty", "POST", "/put", []byte{}, 400, api.CodeEmptyBlob, "empty"},
		{"key without 0x", "GET", "/v1/blobs/" + key, nil, 400, api.CodeInvalidBlobKey, "0x"},
		{"key short", "GET", "/v1/blobs/0x" + key[:60] + "/status", nil, 400, api.CodeInvalidBlobKey, "60 hex digits"},
		{"key not hex", "GET", "/v1/blobs/0x" + strings.Repeat("zz", 32) + "/commitments", nil, 400, api.CodeInvalidBlobKey, "invalid byte"},
		{"root short", "GET", "/v1/batches/0x" + key[:62], nil, 400, api.CodeInvalidRoot, "62 hex digits"},
		{"root not hex", "GET", "/v1/batches/0x" + strings.Repeat("zz", 32) + "/cells/0/0", nil, 400, api.CodeInvalidRoot, "invalid byte"},
		{"row not a number", "GET", root + "/cells/x/0", nil, 400, api.CodeInvalidRow, "not a decimal"},
		{"row negative", "GET", root + "/cells/-1/0", nil, 400, api.CodeInvalidRow, "not a decimal"},
		{"row leading zero", "GET", root + "/cells/01/0", nil, 400, api.CodeInvalidRow, "leading zero"},
		{"row huge", "GET", root + "/cells/99999999999999999999/0", nil, 400, api.CodeInvalidRow, "too large"},
		{"cell empty", "GET", root + "/cells/0/", nil, 400, api.CodeInvalidCell, "empty"},
		{"unknown key", "GET", "/v1/blobs/0x" + key, nil, 404, api.CodeNotFound, "no blob"},
		{"unknown key status", "GET", "/v1/blobs/0x" + key + "/status", nil, 404, api.CodeNotFound, "no blob"},
		{"unknown key commitments", "GET", "/v1/blobs/0x" + key + "/commitments", nil, 404, api.CodeNotFound, "no blob"},
		{"unknown batch", "GET", root, nil, 404, api.CodeNotFound, "batch"},
		{"unknown batch cell", "GET", root + "/cells/0/0", nil, 404, api.CodeNotFound, "batch"},
		{"unknown path", "GET", "/v2/blobs", nil, 404, api.CodeNotFound, "no endpoint"},
		{"unknown blob subpath", "GET", "/v1/blobs/0x" + key + "/rows", nil, 404, api.CodeNotFound, "no endpoint"},
		{"blob cells are batch cells", "GET", "/v1/blobs/0x" + key + "/cells/0/0", nil, 404, api.CodeNotFound, "no endpoint"},
		{"unknown batch subpath", "GET", root + "/rows/0", nil, 404, api.CodeNotFound, "no endpoint"},
		{"get on post", "GET", "/v1/blobs", nil, 405, api.CodeMethodNotAllowed, "POST"},
		{"post on get", "POST", "/v1/blobs/0x" + key, []byte("x"), 405, api.CodeMethodNotAllowed, "GET"},
		{"delete", "DELETE", "/v1/blobs/0x" + key + "/status", nil, 405, api.CodeMethodNotAllowed, "GET"},
		{"get on put", "GET", "/put", nil, 405, api.CodeMethodNotAllowed, "POST"},
		{"put keccak", "POST", "/put/0x" + key, []byte("x"), 400, api.CodeInvalidCommit, "keccak"},
		// Alt-DA commitments that can never be served: 418, which op-alt-da's
		// client turns into "drop this commitment" (StatusCode checked below).
		{"altda get short", "GET", "/get/0x01", nil, 418, api.CodeInvalidCommit, "hex digits"},
		{"altda get no 0x", "GET", "/get/" + key, nil, 418, api.CodeInvalidCommit, "0x"},
		{"altda get keccak type", "GET", "/get/" + commit(0, 0x7a, 2), nil, 418, api.CodeInvalidCommit, "type 0x00"},
		{"altda get v1 version", "GET", "/get/" + commit(1, 0x7a, 0), nil, 418, api.CodeInvalidCommit, "version"},
		{"altda get other version", "GET", "/get/" + commit(1, 0x7a, 1), nil, 418, api.CodeInvalidCommit, "version"},
		{"altda get other layer", "GET", "/get/" + commit(1, 0x00, 2), nil, 418, api.CodeInvalidCommit, "da_layer_byte"},
		{"altda get unknown", "GET", "/get/" + commit(1, 0x7a, 2), nil, 404, api.CodeNotFound, "no blob"},
		{"altda get unknown with L1 block", "GET", "/get/" + commit(1, 0x7a, 2) + "?l1_inclusion_block_number=123", nil, 404, api.CodeNotFound, "no blob"},
		{"altda get bad L1 block", "GET", "/get/" + commit(1, 0x7a, 2) + "?l1_inclusion_block_number=x1", nil, 400, api.CodeBadRequest, "l1_inclusion_block_number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := call(t, tc.method, base+tc.path, tc.body)
			var eb api.ErrorBody
			if err := json.Unmarshal(body, &eb); err != nil {
				t.Fatalf("%d %q: not a JSON error: %v", status, body, err)
			}
			if status != tc.status || eb.Code != tc.code || !strings.Contains(eb.Error, tc.mention) {
				t.Fatalf("got %d %+v, want %d %s mentioning %q", status, eb, tc.status, tc.code, tc.mention)
			}
			if status == 418 {
				var drop struct {
					StatusCode int
					Msg        string
				}
				if err := json.Unmarshal(body, &drop); err != nil || drop.StatusCode < 1 || drop.StatusCode > 4 || drop.Msg == "" {
					t.Fatalf("418 body %s: want op-alt-da's StatusCode in 1..4 and a Msg (%v)", body, err)
				}
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			if status == 405 && hdr.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
	assertNothingStored(t, e)
}

func TestHTTPHeaderTooLarge(t *testing.T) {
	_, _, _, base := httpEngine(t, func(c *Config) { c.API.MaxHeaderBytes = 1024 })
	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 4000))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb api.ErrorBody
	json.NewDecoder(resp.Body).Decode(&eb)
	if resp.StatusCode != 431 || eb.Code != api.CodeHeaderTooLarge {
		t.Fatalf("got %d %+v", resp.StatusCode, eb)
	}
}

func TestHTTPReadTimeout(t *testing.T) {
	_, _, _, base := httpEngine(t, func(c *Config) { c.API.ReadTimeout = Duration(200 * time.Millisecond) })
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Promise a body and never send it.
	fmt.Fprintf(conn, "POST /v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	if resp.StatusCode != 408 {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
}

func TestHTTPQueueFullAndConcurrencyCap(t *testing.T) {
	e, d, _, base := httpEngine(t, func(c *Config) {
		c.Queue.MaxPendingBlobs = 1
		c.API.RetryAfter = Duration(2 * time.Second)
	})
	d.set(func(f *fakeDisperser) { f.block = make(chan struct{}) })
	cl := client.New(base)
	if _, err := cl.Put(context.Background(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	_, err := cl.Put(context.Background(), []byte("second"))
	var ae *client.Error
	if !errors.As(err, &ae) || !errors.Is(err, api.ErrQueueFull) || ae.StatusCode != 429 || ae.RetryAfter != 2*time.Second {
		t.Fatalf("second put: %#v", err)
	}
	if !client.IsRetryable(err) {
		t.Fatal("queue full is not retryable?")
	}
	d.set(func(f *fakeDisperser) { close(f.block); f.block = nil })
	_ = e

	// A /put waiting for its certificate holds no intake place: with one
	// place, a post beside it is taken in. The waiters have a cap of their
	// own, answered 429 (retryable), never 503 (fail over).
	e2, d2, _, base2 := httpEngine(t, func(c *Config) {
		c.API.MaxConcurrentRequests, c.API.MaxConnections = 1, 16
		c.AltDA.MaxWaiters = 1
	})
	d2.set(func(f *fakeDisperser) { f.block = make(chan struct{}); f.started = make(chan struct{}, 1) })
	done := make(chan error, 1)
	go func() {
		_, err := client.New(base2).AltDAPut(context.Background(), []byte("slow"))
		done <- err
	}()
	<-d2.started // the first /put is dispersing: it waits for its certificate
	if _, err := client.New(base2).Put(context.Background(), []byte("other")); err != nil {
		t.Fatalf("post beside a waiting /put: %v", err)
	}
	status, hdr, body := call(t, "POST", base2+"/put", []byte("third"))
	if status != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(string(body), "waiting") {
		t.Fatalf("/put over the waiter cap: %d %s", status, body)
	}
	close(d2.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = e2
}

func TestHTTPRoundTrip(t *testing.T) {
	_, _, _, base := httpEngine(t, nil)
	cl := client.New(base, client.WithPollInterval(10*time.Millisecond))
	ctx := ctxT(t, 60*time.Second)
	blob := randBlob(t, encoder.BytesPerRow+99)
	r, err := cl.Put(ctx, blob)
	if err != nil || r.Status != api.StatusQueued {
		t.Fatalf("put: %+v %v", r, err)
	}
	s, err := cl.WaitCertified(ctx, r.BlobKey) // checks the inclusion proof
	if err != nil {
		t.Fatal(err)
	}
	if s.Height == 0 || s.Certificate == nil || s.BatchSize != 1 || *s.Index != 0 || *s.Offset != 0 || s.Rows != 2 {
		t.Fatalf("status %+v", s)
	}
	back, err := cl.Get(ctx, r.BlobKey)
	if err != nil || !bytes.Equal(back, blob) {
		t.Fatalf("get: %d bytes, %v", len(back), err)
	}
	cm, err := cl.Commitments(ctx, r.BlobKey)
	if err != nil || cm.Length != len(blob) || cm.Rows != 2 || len(cm.Commitments) != 2 {
		t.Fatalf("commitments %+v %v", cm, err)
	}
	if encoder.BlobKey(cm.Length, cm.Commitments) != r.BlobKey {
		t.Fatal("commitments do not hash to the key")
	}
	b, err := cl.GetBatch(ctx, *s.BatchRoot)
	if err != nil || b.DataRows != 2 || b.K != 2 || b.DispersedRows != 8 || len(b.Blobs) != 1 || b.Certificate == nil {
		t.Fatalf("batch %+v %v", b, err)
	}
	if h, err := b.Header(); err != nil || h.Blobs[0].Key != r.BlobKey {
		t.Fatalf("batch header: %v", err)
	}
	// Out-of-range row and cell name the range.
	_, err = cl.GetCell(ctx, *s.BatchRoot, 8, 0)
	if !errors.Is(err, api.ErrInvalidRow) || !strings.Contains(err.Error(), "[0, 8)") {
		t.Fatalf("row 8 of 8: %v", err)
	}
	_, err = cl.GetCell(ctx, *s.BatchRoot, 0, 128)
	if !errors.Is(err, api.ErrInvalidCell) || !strings.Contains(err.Error(), "[0, 128)") {
		t.Fatalf("cell 128: %v", err)
	}
	// HEAD works where GET does.
	if st, _, _ := call(t, "HEAD", base+"/v1/blobs/"+r.BlobKey.String()+"/status", nil); st != 200 {
		t.Fatalf("HEAD status %d", st)
	}
	if st, _, b := call(t, "GET", base+"/healthz", nil); st != 200 || !strings.Contains(string(b), "ok") {
		t.Fatalf("healthz %d %s", st, b)
	}
	st, _, mb := call(t, "GET", base+"/metrics", nil)
	for _, m := range []string{"zgda_engine_blobs_total", "zgda_engine_queue_depth", "zgda_engine_stage_seconds",
		"zgda_engine_certification_failures_total", `zgda_engine_encoder_backend_info{backend="cpu"} 1`, "zgda_storage_",
		`zgda_engine_dispersal_sent_bytes_total{kind="rows"}`, "zgda_engine_batch_rows"} {
		if st != 200 || !strings.Contains(string(mb), m) {
			t.Fatalf("metrics (%d) lack %s", st, m)
		}
	}
}

// TestHTTPBatchCell serves a cell of a parity row over HTTP; it verifies
// against the commitment derived from the batch object.
func TestHTTPBatchCell(t *testing.T) {
	if testing.Short() {
		t.Skip("an FK20 run")
	}
	_, _, _, base := httpEngine(t, nil)
	cl := client.New(base, client.WithPollInterval(10*time.Millisecond))
	ctx := ctxT(t, 60*time.Second)
	r, err := cl.Put(ctx, randBlob(t, 3000))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cl.WaitCertified(ctx, r.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cl.GetBatch(ctx, *s.BatchRoot)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cl.GetCell(ctx, *s.BatchRoot, 3, 127)
	if err != nil {
		t.Fatal(err)
	}
	verifyCell(t, b, 3, 127, c)
}

func TestHTTPAltDA(t *testing.T) {
	_, _, _, base := httpEngine(t, func(c *Config) { c.AltDA.DALayerByte = 0x42 })
	cl := client.New(base)
	ctx := ctxT(t, 60*time.Second)
	blob := randBlob(t, 3000)
	for _, path := range []string{"/put", "/put/"} {
		st, hdr, comm := call(t, "POST", base+path, blob)
		if st != 200 || hdr.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("%s: %d %s", path, st, comm)
		}
		if len(comm) != 35 || comm[0] != 0x01 || comm[1] != 0x42 || comm[2] != 0x02 {
			t.Fatalf("%s: commitment %x", path, comm)
		}
		back, err := cl.AltDAGet(ctx, comm)
		if err != nil || !bytes.Equal(back, blob) {
			t.Fatalf("get: %v", err)
		}
		st, _, back = call(t, "GET", base+"/get/0x"+hex.EncodeToString(comm), nil)
		if st != 200 || !bytes.Equal(back, blob) {
			t.Fatalf("raw get: %d", st)
		}
	}
	// Not certified in time: 503, the rollup's signal to fail over; the
	// blob stays accepted and certifies later.
	_, d, _, base := httpEngine(t, func(c *Config) { c.AltDA.PutTimeout = Duration(300 * time.Millisecond) })
	cl = client.New(base)
	d.set(func(f *fakeDisperser) { f.block = make(chan struct{}) })
	slow := randBlob(t, 2000)
	_, err := cl.AltDAPut(ctx, slow)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 503 || ae.Code != api.CodeNotCertified {
		t.Fatalf("slow put: %v", err)
	}
	d.set(func(f *fakeDisperser) { close(f.block); f.block = nil })
	var comm []byte
	for try := 0; ; try++ { // 300 ms is short on a loaded machine
		comm, err = cl.AltDAPut(ctx, slow)
		if err == nil || try == 20 || !errors.Is(err, api.ErrNotCertified) {
			break
		}
	}
	if err != nil || len(comm) != 35 {
		t.Fatalf("retry: %x %v", comm, err)
	}
	// A failed blob is 503 as well.
	d.set(func(f *fakeDisperser) { f.failAll = true })
	_, err = cl.AltDAPut(ctxT(t, 30*time.Second), randBlob(t, 1234))
	if !errors.Is(err, api.ErrNotCertified) {
		t.Fatalf("failing put: %v", err)
	}
}

func TestHTTPConcurrentClients(t *testing.T) {
	e, _, _, base := httpEngine(t, nil)
	const n = 100
	cl := client.New(base, client.WithPollInterval(20*time.Millisecond))
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			blob := randBlob(t, 1000+i*37)
			r, err := putRetry(ctx, cl, blob)
			if err != nil {
				errs <- err
				return
			}
			if _, err := cl.WaitCertified(ctx, r.BlobKey); err != nil {
				errs <- err
				return
			}
			back, err := cl.Get(ctx, r.BlobKey)
			if err != nil || !bytes.Equal(back, blob) {
				errs <- fmt.Errorf("client %d: read back %d bytes, %v", i, len(back), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_ = e
}

// putRetry posts, waiting out 429s as Retry-After says.
func putRetry(ctx context.Context, cl *client.Client, blob []byte) (*api.PutResponse, error) {
	for {
		r, err := cl.Put(ctx, blob)
		var ae *client.Error
		if errors.As(err, &ae) && client.IsRetryable(err) {
			select {
			case <-time.After(max(ae.RetryAfter, 50*time.Millisecond)):
				continue
			case <-ctx.Done():
				return nil, err
			}
		}
		return r, err
	}
}

func TestHTTPStreamedBodies(t *testing.T) {
	e, _, _, base := httpEngine(t, func(c *Config) {
		c.API.MaxBodyBytes = 64 << 10
		c.API.MaxBodyBytesInFlight = 100 << 10
	})
	addr := strings.TrimPrefix(base, "http://")
	// Chunked (no Content-Length): accepted under the limit, 413 over it.
	for _, tc := range []struct {
		n      int
		status int
	}{{1000, 202}, {64 << 10, 202}, {64<<10 + 1, 413}} {
		body := randBlob(t, tc.n)
		req, _ := http.NewRequest("POST", base+"/v1/blobs", io.MultiReader(bytes.NewReader(body[:10]), bytes.NewReader(body[10:])))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("chunked %d: %v", tc.n, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("chunked %d bytes: %d %s", tc.n, resp.StatusCode, b)
		}
		if tc.status == 202 {
			var r api.PutResponse
			json.Unmarshal(b, &r)
			if _, err := e.WaitCertified(ctxT(t, 30*time.Second), r.BlobKey); err != nil {
				t.Fatalf("chunked %d: %v", tc.n, err)
			}
			if back, err := e.Blob(context.Background(), r.BlobKey); err != nil || !bytes.Equal(back, body) {
				t.Fatalf("chunked %d: read back %v", tc.n, err)
			}
		}
	}
	// A slow upload holds its buffer (counted at its real, power-of-two
	// size): a second one that does not
	// fit beside it gets 429 before sending its body; a short body stores
	// nothing.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	// (fasthttp reads the first 8 KiB before the handler runs.)
	fmt.Fprintf(slow, "POST /v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", 60<<10, randBlob(t, 9<<10))
	waitBodyBytes(t, e, int64(bufSize(60<<10)))
	_, err = client.New(base).Put(context.Background(), randBlob(t, 50<<10))
	if !errors.Is(err, api.ErrTooManyRequests) {
		t.Fatalf("second upload beside a slow one: %v", err)
	}
	slow.Close()
	waitBodyBytes(t, e, 0)
	if _, err := client.New(base).Put(context.Background(), randBlob(t, 50<<10)); err != nil {
		t.Fatalf("after the slow upload went away: %v", err)
	}
	for _, p := range []string{prefixBlob, prefixStat} {
		it, _ := e.store.NewIter(context.Background(), []byte(p))
		n := 0
		for it.Next() {
			n++
		}
		it.Close()
		if n != 3 { // the two chunked posts and the last one
			t.Fatalf("%d records under %s, want 3", n, p)
		}
	}
}

// waitBodyBytes waits until the bytes of bodies being received are n.
func waitBodyBytes(t *testing.T, e *Engine, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.http.bodyMu.Lock()
		got := e.http.bodyInFlight
		e.http.bodyMu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d body bytes in flight, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
