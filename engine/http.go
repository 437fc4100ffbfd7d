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
	intake  chan struct{} // posts being taken in (API.MaxConcurrentRequests)
	reads   chan struct{} // GET requests (API.MaxConcurrentReads)
	metrics fasthttp.RequestHandler

	bodyMu       sync.Mutex
	bodyInFlight int64 // bytes of request bodies being received (API.MaxBodyBytesInFlight)
}

func newHTTPServer(e *Engine, ln net.Listener) *httpServer {
	c := e.cfg.API
	s := &httpServer{
		e: e, ln: newTrackingListener(ln, c.MaxConnections, e),
		intake:  make(chan struct{}, c.MaxConcurrentRequests),
		reads:   make(chan struct{}, c.MaxConcurrentReads),
		metrics: fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{})),
	}
	s.srv = &fasthttp.Server{
		Handler:       s.handle,
		ErrorHandler:  s.parseError,
		ExpectHandler: s.expect,
		Name:          "zgda",
		// The listener caps connections (with a JSON 429); fasthttp's own
		// cap would answer a plain-text 503, which an alt-DA client takes
		// for "fail over".
		Concurrency:        2 * c.MaxConnections,
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
		if errors.Is(perr, api.ErrInvalidCommit) && bytes.HasPrefix(ctx.Path(), []byte("/get/")) {
			// A commitment that can never be served: op-node must drop it,
			// not retry it forever.
			s.writeDrop(ctx, dropMalformed, perr)
			return
		}
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
	// Posts and reads have places of their own, so that no read can make a
	// post wait or fail.
	pool := s.reads
	if r.kind.method() == "POST" {
		pool = s.intake
	}
	select {
	case pool <- struct{}{}:
	default:
		s.e.m.rejected.WithLabelValues("too_many_requests").Inc()
		what := "reads"
		if r.kind.method() == "POST" {
			what = "posts"
		}
		err := fmt.Errorf("%w (%d %s at once)", api.ErrTooManyRequests, cap(pool), what)
		if r.kind == routeAltPut {
			s.writeAltPutError(ctx, err)
		} else {
			s.writeError(ctx, err)
		}
		return
	}
	held := true
	leave := func() {
		if held {
			held = false
			<-pool
		}
	}
	defer leave()
	// fasthttp's RequestCtx is no cancellation context; the engine's is.
	rctx := s.e.ctx
	switch r.kind {
	case routePostBlob:
		body, release, err := s.receive(ctx, &bodyRead)
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
		if err := checkL1Inclusion(ctx); err != nil {
			s.writeError(ctx, err)
			return
		}
		if r.daLayer != s.e.cfg.AltDA.DALayerByte {
			s.writeDrop(ctx, dropWrongLayer, fmt.Errorf("%w: da_layer_byte 0x%02x; this server's is 0x%02x",
				api.ErrInvalidCommit, r.daLayer, s.e.cfg.AltDA.DALayerByte))
			return
		}
		s.bytes(ctx, r)
	case routeAltPut:
		s.altPut(ctx, &bodyRead, leave)
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
// the generic commitment as raw bytes. The post's intake place is left
// (leave) once the blob is taken in; the wait holds one of
// AltDA.MaxWaiters places instead. 503 only when the DA layer cannot
// certify in time — the batcher's signal to fail over to L1 — and a
// retryable status for everything else (writeAltPutError).
func (s *httpServer) altPut(ctx *fasthttp.RequestCtx, bodyRead *bool, leave func()) {
	if !s.e.beginWait() {
		ctx.SetConnectionClose()
		s.e.m.rejected.WithLabelValues("waiters_full").Inc()
		s.writeAltPutError(ctx, fmt.Errorf("%w: %d /put calls are waiting for their certificates", api.ErrTooManyRequests, s.e.cfg.AltDA.MaxWaiters))
		return
	}
	defer s.e.endWait()
	body, release, err := s.receive(ctx, bodyRead)
	if err != nil {
		s.writeAltPutError(ctx, err)
		return
	}
	commitment, err := s.e.PutAltDA(s.e.ctx, body, func() { release(); leave() })
	if err != nil {
		s.writeAltPutError(ctx, err)
		return
	}
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/octet-stream")
	ctx.SetBody(commitment)
}

// writeAltPutError answers a failed /put. op-batcher fails over to L1 on
// 503 and retries on anything else, so 503 is kept for a DA layer that
// cannot certify in time: not certified within AltDA.PutTimeout, or a full
// queue whose oldest blob has waited longer than that (the pipeline is
// stuck, and a 429 would have the batcher retry forever). A server shutting
// down answers 429 with Retry-After: the batcher comes back, to this server
// or the next.
func (s *httpServer) writeAltPutError(ctx *fasthttp.RequestCtx, err error) {
	err = s.closedErr(err)
	if errors.Is(err, api.ErrQueueFull) {
		if age := s.e.oldestPending(); age > time.Duration(s.e.cfg.AltDA.PutTimeout) {
			err = fmt.Errorf("%w: the queue is full and its oldest blob has waited %v for a certificate (%v)",
				api.ErrNotCertified, age.Round(time.Second), err)
		}
	}
	code, status := api.Classify(err)
	if code == api.CodeShuttingDown || (status == http.StatusServiceUnavailable && code != api.CodeNotCertified) {
		status = http.StatusTooManyRequests
	}
	s.writeErrorStatus(ctx, err, code, status)
}

// Reasons a commitment is dropped (the StatusCode of op-alt-da's
// DropEigenDACommitmentError, 1–4, which the client reads from a 418
// answer): the commitment does not parse as a zgda/v2 generic commitment,
// or it belongs to another DA layer.
const (
	dropMalformed  = 1
	dropWrongLayer = 3
)

// dropBody is the 418 answer: op-alt-da's fields beside the API's own.
type dropBody struct {
	StatusCode int      `json:"StatusCode"`
	Msg        string   `json:"Msg"`
	Error      string   `json:"error"`
	Code       api.Code `json:"code"`
}

// writeDrop answers an alt-DA GET whose commitment can never be served with
// 418, which op-alt-da's client turns into the error that makes op-node
// drop the commitment instead of retrying it (docs/spec.md §7).
func (s *httpServer) writeDrop(ctx *fasthttp.RequestCtx, reason int, err error) {
	code, _ := api.Classify(err)
	b, _ := json.Marshal(dropBody{StatusCode: reason, Msg: err.Error(), Error: err.Error(), Code: code})
	ctx.SetStatusCode(http.StatusTeapot)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// checkL1Inclusion accepts op-node's ?l1_inclusion_block_number= on alt-DA
// GETs (a decimal block number; 0 or absent: no check). Certified zgda
// blobs stay readable for the chain's availability epochs whatever the
// L1 block, so the number is checked for form only.
func checkL1Inclusion(ctx *fasthttp.RequestCtx) error {
	v := ctx.QueryArgs().Peek("l1_inclusion_block_number")
	if v == nil {
		return nil
	}
	if _, err := strconv.ParseUint(string(v), 10, 64); err != nil {
		return fmt.Errorf("%w: l1_inclusion_block_number %q is not a decimal block number", api.ErrBadRequest, clip(string(v)))
	}
	return nil
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
// API.MaxBodyBytes (413), takes the buffer's bytes from
// API.MaxBodyBytesInFlight and checks that the queue has room (429 both)
// before reading anything, then reads the body into a pooled buffer. A
// chunked body, whose length is known only at its end, starts in a small
// buffer that grows (taking its bytes from the budget as it does). Buffers
// are counted at their real size. The caller must call release once it no
// longer needs the body. When it fails before the body is read the
// connection is closed after the answer.
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
	if n < 0 { // chunked
		want = min(limit, chunkedStart)
	}
	buf, err := s.takeBuf(want)
	if err != nil {
		s.refuseBody(ctx, n, read)
		return nil, nil, err
	}
	release = func() { s.giveBuf(buf) }
	if n > 0 && !s.e.hasRoom(n) {
		release()
		s.refuseBody(ctx, n, read)
		s.e.m.rejected.WithLabelValues("queue_full").Inc()
		return nil, nil, fmt.Errorf("%w (checked before reading the body)", ErrQueueFull)
	}
	r := ctx.RequestBodyStream()
	if r == nil {
		r = bytes.NewReader(ctx.Request.Body())
	}
	got, err := io.ReadFull(r, (*buf)[:want+1])
	for n < 0 && err == nil && got <= limit {
		// The chunked body fills its buffer: move to one twice the size.
		bigger, terr := s.takeBuf(min(limit, 2*want))
		if terr != nil {
			release()
			ctx.SetConnectionClose()
			return nil, nil, terr
		}
		copy(*bigger, (*buf)[:got])
		release()
		buf, want = bigger, min(limit, 2*want)
		release = func() { s.giveBuf(buf) }
		var more int
		more, err = io.ReadFull(r, (*buf)[got:want+1])
		got += more
	}
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

// refuseBody leaves the body of a refused post unread where it is large:
// the connection is closed after the answer. A small one (up to
// drainLimit) is read and dropped instead, so that the client, still
// writing it, reads the answer rather than a connection reset.
func (s *httpServer) refuseBody(ctx *fasthttp.RequestCtx, n int, read *bool) {
	if n > 0 && n <= drainLimit {
		if r := ctx.RequestBodyStream(); r != nil {
			if _, err := io.CopyN(io.Discard, r, int64(n)); err == nil {
				*read = true
				return
			}
		}
	}
	ctx.SetConnectionClose()
}

// drainLimit is the largest refused body read and dropped (refuseBody).
const drainLimit = 1 << 20

// receive is readBody for a post, counted by the batcher as in intake
// while its body arrives (see cutRule: a body on its way is a blob about to
// be committed).
func (s *httpServer) receive(ctx *fasthttp.RequestCtx, read *bool) ([]byte, func(), error) {
	s.e.receiving(1)
	defer s.e.receiving(-1)
	return s.readBody(ctx, read)
}

// chunkedStart is the first buffer of a chunked body.
const chunkedStart = 1 << 20

// takeBuf takes a pooled buffer for a body of up to n bytes (+1, see
// getBuf), counting its whole capacity against API.MaxBodyBytesInFlight.
func (s *httpServer) takeBuf(n int) (*[]byte, error) {
	size := int64(bufSize(n))
	if !s.takeBody(size) {
		s.e.m.rejected.WithLabelValues("too_many_requests").Inc()
		return nil, fmt.Errorf("%w: %d MiB of request bodies are being received", api.ErrTooManyRequests,
			s.e.cfg.API.MaxBodyBytesInFlight>>20)
	}
	return getBuf(n), nil
}

func (s *httpServer) giveBuf(b *[]byte) {
	s.giveBody(int64(cap(*b)))
	putBuf(b)
}

// takeBody counts n bytes of buffers against API.MaxBodyBytesInFlight. One
// body is always let in when nothing else is in flight, even if its
// power-of-two buffer passes the budget, so that a post of
// API.MaxBodyBytes is never refused by an idle server.
func (s *httpServer) takeBody(n int64) bool {
	s.bodyMu.Lock()
	defer s.bodyMu.Unlock()
	if s.bodyInFlight > 0 && s.bodyInFlight+n > s.e.cfg.API.MaxBodyBytesInFlight {
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

// bufSize is the capacity getBuf(n) returns.
func bufSize(n int) int {
	if c := bufClass(n); c < len(bufPools) {
		return 4096 << c
	}
	return n + 1
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
	err = s.closedErr(err)
	code, status := api.Classify(err)
	s.writeErrorStatus(ctx, err, code, status)
}

// closedErr names a request cut off by the engine's shutdown as ErrClosed.
func (s *httpServer) closedErr(err error) error {
	if errors.Is(err, context.Canceled) && s.e.ctx.Err() != nil {
		return ErrClosed
	}
	return err
}

// writeErrorStatus sends {"error","code"} with the given status, and
// Retry-After on 429 and on a shutdown.
func (s *httpServer) writeErrorStatus(ctx *fasthttp.RequestCtx, err error, code api.Code, status int) {
	msg := err.Error()
	if code == api.CodeInternal {
		s.e.log.Error("request failed", "path", string(ctx.Path()), "err", err)
	}
	if status == http.StatusTooManyRequests || code == api.CodeShuttingDown {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(time.Duration(s.e.cfg.API.RetryAfter).Seconds())))
	}
	b, _ := json.Marshal(api.ErrorBody{Error: msg, Code: code})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
