package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/zgda/zgda/engine/api"
)

// httpServer serves docs/spec.md §7 on fasthttp.
type httpServer struct {
	e       *Engine
	ln      *trackingListener
	srv     *fasthttp.Server
	sem     chan struct{} // API.MaxConcurrentRequests
	metrics fasthttp.RequestHandler

	bodyMu       sync.Mutex
	bodyInFlight int64 // bytes of request bodies being received (API.MaxBodyBytesInFlight)
}

func newHTTPServer(e *Engine, ln net.Listener) *httpServer {
	c := e.cfg.API
	s := &httpServer{
		e: e, ln: newTrackingListener(ln),
		sem:     make(chan struct{}, c.MaxConcurrentRequests),
		metrics: fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{})),
	}
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       s.parseError,
		ExpectHandler:      s.expect,
		Name:               "zgda",
		Concurrency:        c.MaxConnections,
		ReadBufferSize:     c.MaxHeaderBytes,
		MaxRequestBodySize: c.MaxBodyBytes,
		// Bodies are streamed: the handler checks the limits and the queue
		// before it reads one, and reads it into a pooled buffer once.
		StreamRequestBody:            true,
		ReadTimeout:                  time.Duration(c.ReadTimeout),
		WriteTimeout:                 time.Duration(c.WriteTimeout),
		IdleTimeout:                  time.Duration(c.IdleTimeout),
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		Logger:                       fasthttpLogger{e},
	}
	return s
}

func (s *httpServer) serve() {
	if err := s.srv.Serve(s.ln); err != nil {
		s.e.log.Error("http server stopped", "err", err)
	}
}

// shutdown stops accepting and waits briefly for requests in progress
// (the engine's context is already cancelled, so waiting /put handlers end
// at once), then closes whatever connections remain: fasthttp counts a
// connection on which no request has arrived yet as busy until its read
// timeout.
func (s *httpServer) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.ShutdownWithContext(ctx); err != nil {
		s.e.log.Debug("http shutdown: closing connections still open", "err", err)
	}
	// Shutdown closes only listeners Serve has registered: if Serve has not
	// got that far yet, closing ours makes it return at once.
	_ = s.ln.Close()
	s.ln.closeAll()
}

// trackingListener remembers its open connections so that shutdown can
// close them.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newTrackingListener(ln net.Listener) *trackingListener {
	return &trackingListener{Listener: ln, conns: map[*trackedConn]struct{}{}}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	cs := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		cs = append(cs, c)
	}
	l.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

type fasthttpLogger struct{ e *Engine }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.e.log.Debug("fasthttp", "msg", fmt.Sprintf(format, args...))
}

// expect answers "Expect: 100-continue": an announced body over the limit
// (413), or one the queue has no room for (429), is refused before the
// client sends it.
func (s *httpServer) expect(ctx *fasthttp.RequestCtx) int {
	if n := ctx.Request.Header.ContentLength(); n > s.e.cfg.API.MaxBodyBytes {
		s.e.m.rejected.WithLabelValues("too_large").Inc()
		s.writeError(ctx, fmt.Errorf("%w: the body (%d bytes) exceeds the limit of %d bytes", api.ErrBlobTooLarge, n, s.e.cfg.API.MaxBodyBytes))
		return http.StatusRequestEntityTooLarge
	}
	if n := ctx.Request.Header.ContentLength(); n > 0 && !s.e.hasRoom(n) {
		s.e.m.rejected.WithLabelValues("queue_full").Inc()
		s.writeError(ctx, fmt.Errorf("%w (checked before the body was sent)", ErrQueueFull))
		return http.StatusTooManyRequests
	}
	return http.StatusContinue
}

// parseError answers requests fasthttp could not read, in the API's JSON.
func (s *httpServer) parseError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.e.m.rejected.WithLabelValues("too_large").Inc()
		s.writeError(ctx, fmt.Errorf("%w: the body exceeds the limit of %d bytes", api.ErrBlobTooLarge, s.e.cfg.API.MaxBodyBytes))
	case errors.As(err, &small):
		s.writeError(ctx, fmt.Errorf("%w: request line and headers must fit in %d bytes", api.ErrHeaderTooLarge, s.e.cfg.API.MaxHeaderBytes))
	case errors.As(err, &ne) && ne.Timeout():
		s.writeError(ctx, fmt.Errorf("%w: the request was not received within %v", api.ErrTimeout, s.e.cfg.API.ReadTimeout))
	default:
		s.writeError(ctx, fmt.Errorf("%w: %v", api.ErrBadRequest, err))
	}
	s.e.m.http.WithLabelValues("unparsed", strconv.Itoa(ctx.Response.StatusCode())).Inc()
}

func (s *httpServer) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	r, perr := parsePath(string(ctx.Path()))
	name := "unknown"
	if perr == nil {
		name = r.kind.String()
	}
	bodyRead := false
	defer func() {
		// Bodies are streamed: one left unread would be taken for the next
		// request on this connection.
		if n := ctx.Request.Header.ContentLength(); (n > 0 || n == -1) && !bodyRead {
			ctx.SetConnectionClose()
		}
		if p := recover(); p != nil {
			s.e.log.Error("http handler panicked", "route", name, "panic", p)
			s.writeError(ctx, fmt.Errorf("%w: handler failed", api.ErrInternal))
		}
		s.e.m.http.WithLabelValues(name, strconv.Itoa(ctx.Response.StatusCode())).Inc()
		s.e.m.httpSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
	}()
	if perr != nil {
		s.writeError(ctx, perr)
		return
	}
	if m := string(ctx.Method()); m != r.kind.method() && !(m == "HEAD" && r.kind.method() == "GET") {
		allow := r.kind.method()
		if allow == "GET" {
			allow = "GET, HEAD"
		}
		ctx.Response.Header.Set("Allow", allow)
		s.writeError(ctx, fmt.Errorf("%w: %s %s; use %s", api.ErrMethod, m, ctx.Path(), allow))
		return
	}
	if r.kind == routeHealth {
		s.writeJSON(ctx, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	if r.kind == routeMetrics {
		s.metrics(ctx)
		return
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		s.e.m.rejected.WithLabelValues("too_many_requests").Inc()
		s.writeError(ctx, fmt.Errorf("%w (%d at once)", api.ErrTooManyRequests, cap(s.sem)))
		return
	}
	// fasthttp's RequestCtx is no cancellation context; the engine's is.
	rctx := s.e.ctx
	switch r.kind {
	case routePostBlob:
		body, release, err := s.readBody(ctx, &bodyRead)
		if err != nil {
			s.writeError(ctx, err)
			return
		}
		res, err := s.e.Put(rctx, body)
		release()
		if err != nil {
			s.writeError(ctx, err)
			return
		}
		s.writeJSON(ctx, http.StatusAccepted, res)
	case routeStatus:
		st, err := s.e.Status(rctx, r.key)
		s.reply(ctx, st, err)
	case routeCommitments:
		c, err := s.e.Commitments(rctx, r.key)
		s.reply(ctx, c, err)
	case routeBatch:
		b, err := s.e.Batch(rctx, r.root)
		s.reply(ctx, b, err)
	case routeBatchCell:
		c, err := s.e.Cell(rctx, r.root, r.row, r.cell)
		s.reply(ctx, c, err)
	case routeGetBlob:
		s.bytes(ctx, r)
	case routeAltGet:
		if r.daLayer != s.e.cfg.AltDA.DALayerByte {
			s.writeError(ctx, fmt.Errorf("%w: da_layer_byte 0x%02x; this server's is 0x%02x",
				api.ErrInvalidCommit, r.daLayer, s.e.cfg.AltDA.DALayerByte))
			return
		}
		s.bytes(ctx, r)
	case routeAltPut:
		s.altPut(ctx, &bodyRead)
	}
}

func (s *httpServer) bytes(ctx *fasthttp.RequestCtx, r route) {
	data, err := s.e.Blob(s.e.ctx, r.key)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/octet-stream")
	ctx.SetBody(data)
}

// altPut is the OP Stack alt-DA put: accept, wait until certified, answer
// the generic commitment as raw bytes; 503 when that does not happen within
// AltDA.PutTimeout, so that the batcher fails over.
func (s *httpServer) altPut(ctx *fasthttp.RequestCtx, bodyRead *bool) {
	body, release, err := s.readBody(ctx, bodyRead)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	commitment, err := s.e.PutAltDA(s.e.ctx, body, release)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/octet-stream")
	ctx.SetBody(commitment)
}

// PutAltDA accepts a blob and waits until it is certified (at most
// AltDA.PutTimeout); it returns the OP Stack generic commitment
// 0x01 ‖ da_layer_byte ‖ 0x02 ‖ blob_key (docs/spec.md §7). Not certified in time (or failed)
// is an error wrapping ErrNotCertified; the blob stays accepted either way.
//
// If done is not nil it is called once data is no longer needed (after
// intake, before the wait), so that the caller can reuse the buffer.
func (e *Engine) PutAltDA(ctx context.Context, data []byte, done func()) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(e.cfg.AltDA.PutTimeout))
	defer cancel()
	res, err := e.Put(ctx, data)
	if done != nil {
		done()
	}
	if err != nil {
		return nil, err
	}
	if _, err := e.WaitCertified(ctx, res.BlobKey); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: blob %s is still %s after %v", ErrNotCertified, res.BlobKey,
				e.statusOf(res.BlobKey), e.cfg.AltDA.PutTimeout)
		}
		return nil, err
	}
	return altDACommitment(e.cfg.AltDA.DALayerByte, res.BlobKey), nil
}

// statusOf is the status of a blob, for messages.
func (e *Engine) statusOf(key [32]byte) string {
	s, err := e.Status(context.Background(), key)
	if err != nil {
		return "unknown"
	}
	return string(s.Status)
}

// readBody receives a POST body: it checks the announced length against
// API.MaxBodyBytes (413), takes the body's bytes from
// API.MaxBodyBytesInFlight and checks that the queue has room (429 both)
// before reading anything, then reads the body into a pooled buffer. The
// caller must call release once it no longer needs the body. When it fails
// before the body is read the connection is closed after the answer.
func (s *httpServer) readBody(ctx *fasthttp.RequestCtx, read *bool) (body []byte, release func(), err error) {
	limit := s.e.cfg.API.MaxBodyBytes
	n := ctx.Request.Header.ContentLength()
	switch {
	case n == 0 || n == -2: // -2: no length and not chunked, which means no body
		return nil, nil, ErrEmptyBlob
	case n > limit:
		ctx.SetConnectionClose()
		s.e.m.rejected.WithLabelValues("too_large").Inc()
		return nil, nil, fmt.Errorf("%w: the body (%d bytes) exceeds the limit of %d bytes", api.ErrBlobTooLarge, n, limit)
	}
	want := n
	if n < 0 { // chunked: the length is known only at the end
		want = limit
	}
	if !s.takeBody(int64(want)) {
		ctx.SetConnectionClose()
		s.e.m.rejected.WithLabelValues("too_many_requests").Inc()
		return nil, nil, fmt.Errorf("%w: %d MiB of request bodies are being received", api.ErrTooManyRequests,
			s.e.cfg.API.MaxBodyBytesInFlight>>20)
	}
	if n > 0 && !s.e.hasRoom(n) {
		s.giveBody(int64(want))
		ctx.SetConnectionClose()
		s.e.m.rejected.WithLabelValues("queue_full").Inc()
		return nil, nil, fmt.Errorf("%w (checked before reading the body)", ErrQueueFull)
	}
	buf := getBuf(want)
	release = func() {
		putBuf(buf)
		s.giveBody(int64(want))
	}
	r := ctx.RequestBodyStream()
	if r == nil {
		r = bytes.NewReader(ctx.Request.Body())
	}
	got, err := io.ReadFull(r, (*buf)[:want+1])
	switch {
	case n > 0 && got == n && (err == io.ErrUnexpectedEOF || err == io.EOF):
	case n < 0 && got <= limit && (err == io.ErrUnexpectedEOF || err == io.EOF):
	case n < 0 && got > limit:
		release()
		ctx.SetConnectionClose()
		return nil, nil, fmt.Errorf("%w: the chunked body exceeds the limit of %d bytes", api.ErrBlobTooLarge, limit)
	default:
		release()
		ctx.SetConnectionClose()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, nil, fmt.Errorf("%w: the body was not received within %v", api.ErrTimeout, s.e.cfg.API.ReadTimeout)
		}
		return nil, nil, fmt.Errorf("%w: reading the body: got %d of %d bytes: %v", api.ErrBadRequest, got, n, err)
	}
	*read = true
	if got == 0 {
		release()
		return nil, nil, ErrEmptyBlob
	}
	return (*buf)[:got], release, nil
}

func (s *httpServer) takeBody(n int64) bool {
	s.bodyMu.Lock()
	defer s.bodyMu.Unlock()
	if s.bodyInFlight+n > s.e.cfg.API.MaxBodyBytesInFlight {
		return false
	}
	s.bodyInFlight += n
	return true
}

func (s *httpServer) giveBody(n int64) {
	s.bodyMu.Lock()
	s.bodyInFlight -= n
	s.bodyMu.Unlock()
}

// Body buffers are pooled by power-of-two size class, 4 KiB to 32 MiB
// (+1 byte: a read one past the announced length tells a short body from a
// long one).
var bufPools [14]sync.Pool

func bufClass(n int) int {
	c := 0
	for (4096 << c) < n+1 {
		c++
	}
	return c
}

func getBuf(n int) *[]byte {
	c := bufClass(n)
	if c < len(bufPools) {
		if b, ok := bufPools[c].Get().(*[]byte); ok {
			return b
		}
		b := make([]byte, 4096<<c)
		return &b
	}
	b := make([]byte, n+1)
	return &b
}

func putBuf(b *[]byte) {
	if c := bufClass(cap(*b) - 1); c < len(bufPools) && cap(*b) == 4096<<c {
		bufPools[c].Put(b)
	}
}

func (s *httpServer) reply(ctx *fasthttp.RequestCtx, v any, err error) {
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.writeJSON(ctx, http.StatusOK, v)
}

func (s *httpServer) writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(ctx, fmt.Errorf("%w: encoding the response: %v", api.ErrInternal, err))
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// writeError sends {"error","code"} with the status the error's sentinel
// maps to, and Retry-After on 429.
func (s *httpServer) writeError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, context.Canceled) && s.e.ctx.Err() != nil {
		err = ErrClosed
	}
	code, status := api.Classify(err)
	msg := err.Error()
	if code == api.CodeInternal {
		s.e.log.Error("request failed", "path", string(ctx.Path()), "err", err)
	}
	if status == http.StatusTooManyRequests {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(time.Duration(s.e.cfg.API.RetryAfter).Seconds())))
	}
	b, _ := json.Marshal(api.ErrorBody{Error: msg, Code: code})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
