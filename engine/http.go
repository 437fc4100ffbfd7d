package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/zgda/zgda/engine/api"
)

// httpServer serves DESIGN.md §7 on fasthttp.
type httpServer struct {
	e       *Engine
	ln      net.Listener
	srv     *fasthttp.Server
	sem     chan struct{} // API.MaxConcurrentRequests
	metrics fasthttp.RequestHandler
}

func newHTTPServer(e *Engine, ln net.Listener) *httpServer {
	c := e.cfg.API
	s := &httpServer{
		e: e, ln: ln,
		sem:     make(chan struct{}, c.MaxConcurrentRequests),
		metrics: fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{})),
	}
	s.srv = &fasthttp.Server{
		Handler:                      s.handle,
		ErrorHandler:                 s.parseError,
		Name:                         "zgda",
		Concurrency:                  c.MaxConnections,
		ReadBufferSize:               c.MaxHeaderBytes,
		MaxRequestBodySize:           c.MaxBodyBytes,
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

// shutdown stops accepting, lets requests in progress finish (waiting /put
// handlers end when the engine's context is cancelled right after), and
// closes idle connections.
func (s *httpServer) shutdown() {
	done := make(chan struct{})
	go func() {
		_ = s.srv.Shutdown()
		// Shutdown closes only listeners Serve has registered: if Serve has
		// not got that far yet, closing ours makes it return at once.
		_ = s.ln.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.e.log.Warn("http shutdown: requests still running after 5s; closing anyway")
		s.e.cancel()
		<-done
	}
}

type fasthttpLogger struct{ e *Engine }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.e.log.Debug("fasthttp", "msg", fmt.Sprintf(format, args...))
}

// expect answers "Expect: 100-continue": an announced body over the limit
// is refused with 413 before the client sends it.
func (s *httpServer) expect(ctx *fasthttp.RequestCtx) int {
	if n := ctx.Request.Header.ContentLength(); n > s.e.cfg.API.MaxBodyBytes {
		s.e.m.rejected.WithLabelValues("too_large").Inc()
		s.writeError(ctx, fmt.Errorf("%w: the body (%d bytes) exceeds the limit of %d bytes", api.ErrBlobTooLarge, n, s.e.cfg.API.MaxBodyBytes))
		return http.StatusRequestEntityTooLarge
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
	defer func() {
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
		res, err := s.e.Put(rctx, ctx.PostBody())
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
	case routeCell:
		c, err := s.e.Cell(rctx, r.key, r.row, r.cell)
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
		s.altPut(ctx)
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
func (s *httpServer) altPut(ctx *fasthttp.RequestCtx) {
	commitment, err := s.e.PutAltDA(s.e.ctx, ctx.PostBody())
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
// 0x01 ‖ da_layer_byte ‖ 0x00 ‖ blob_key. Not certified in time (or failed)
// is an error wrapping ErrNotCertified; the blob stays accepted either way.
func (e *Engine) PutAltDA(ctx context.Context, data []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(e.cfg.AltDA.PutTimeout))
	defer cancel()
	res, err := e.Put(ctx, data)
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
