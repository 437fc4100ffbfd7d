// Package client talks to a zgda disperser's HTTP API (docs/spec.md §7):
// post a blob, follow its status until it is certified (checking the
// inclusion proof), read it back, fetch its commitments, its batch and the
// batch's cells, and the OP Stack alt-DA /put and /get.
//
// Errors the server answers come back as *Error, which carries the HTTP
// status, the API's code and message and Retry-After, and matches the
// sentinels of package engine/api under errors.Is (api.ErrQueueFull,
// api.ErrNotFound, …) — the same values the engine itself returns.
// Transport failures are returned as net/http reports them.
package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/engine/api"
)

// Client is a disperser API client. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
	poll time.Duration
	max  int64
}

// Option adjusts New.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: a client with no overall
// timeout; bound calls with their context).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithPollInterval sets how often WaitCertified asks for the status
// (default 100 ms).
func WithPollInterval(d time.Duration) Option { return func(c *Client) { c.poll = d } }

// WithMaxResponseBytes bounds a response body (default 64 MiB, twice the
// largest blob).
func WithMaxResponseBytes(n int64) Option { return func(c *Client) { c.max = n } }

// New returns a client for the disperser at baseURL ("http://127.0.0.1:3100").
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), hc: &http.Client{}, poll: 100 * time.Millisecond, max: 64 << 20}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ErrBadAnswer: a success answer that is oversized or does not decode.
var ErrBadAnswer = errors.New("zgda api: bad answer")

// Error is an error response of the API.
type Error struct {
	StatusCode int
	Code       api.Code
	Message    string
	// RetryAfter is the server's Retry-After (429), or 0.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("zgda api: %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// Unwrap returns the api sentinel of the error's code, so that
// errors.Is(err, api.ErrQueueFull) and the like work.
func (e *Error) Unwrap() error { return e.Code.Sentinel() }

// FailedError is WaitCertified's answer for a blob that ended failed. It
// matches api.ErrNotCertified.
type FailedError struct {
	Key    da.BlobKey
	Reason string
}

func (e *FailedError) Error() string { return fmt.Sprintf("blob %s failed: %s", e.Key, e.Reason) }

// Unwrap returns api.ErrNotCertified.
func (e *FailedError) Unwrap() error { return api.ErrNotCertified }

// Put posts a blob (POST /v1/blobs) and returns its key once the server has
// stored it durably. data is only read.
func (c *Client) Put(ctx context.Context, data []byte) (*api.PutResponse, error) {
	var r api.PutResponse
	if err := c.do(ctx, http.MethodPost, "/v1/blobs", data, http.StatusAccepted, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Status returns a blob's status (GET /v1/blobs/{key}/status).
func (c *Client) Status(ctx context.Context, key da.BlobKey) (*api.BlobStatus, error) {
	var s api.BlobStatus
	if err := c.do(ctx, http.MethodGet, "/v1/blobs/"+key.String()+"/status", nil, http.StatusOK, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// WaitCertified polls the status until the blob is certified (and its
// inclusion proof checks out, see api.BlobStatus.VerifyInclusion), failed
// (a *FailedError) or ctx ends.
func (c *Client) WaitCertified(ctx context.Context, key da.BlobKey) (*api.BlobStatus, error) {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		s, err := c.Status(ctx, key)
		if err != nil {
			return nil, err
		}
		switch s.Status {
		case api.StatusCertified:
			if err := s.VerifyInclusion(); err != nil {
				return s, err
			}
			return s, nil
		case api.StatusFailed:
			return s, &FailedError{Key: key, Reason: s.Reason}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
}

// Get returns the bytes posted under key (GET /v1/blobs/{key}).
func (c *Client) Get(ctx context.Context, key da.BlobKey) ([]byte, error) {
	var b []byte
	if err := c.do(ctx, http.MethodGet, "/v1/blobs/"+key.String(), nil, http.StatusOK, &b); err != nil {
		return nil, err
	}
	return b, nil
}

// Commitments returns L, R and C_0 … C_{R−1} (GET /v1/blobs/{key}/commitments).
func (c *Client) Commitments(ctx context.Context, key da.BlobKey) (*api.Commitments, error) {
	var r api.Commitments
	if err := c.do(ctx, http.MethodGet, "/v1/blobs/"+key.String()+"/commitments", nil, http.StatusOK, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetBatch returns a batch's header, counts and certificate (GET
// /v1/batches/{root}). Check it with api.Batch.Header, which also returns
// the header.
func (c *Client) GetBatch(ctx context.Context, root da.Hash) (*api.Batch, error) {
	var r api.Batch
	if err := c.do(ctx, http.MethodGet, "/v1/batches/"+root.String(), nil, http.StatusOK, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetCell returns cell c of dispersed row n of a batch and its EIP-7594
// proof (GET /v1/batches/{root}/cells/{n}/{c}). Check it with
// kzg.Context.VerifyCell against row n's commitment: the batch's data
// commitments for n < D, kzg.Context.ParityCommitments of them for n ≥ D.
func (c *Client) GetCell(ctx context.Context, root da.Hash, n, cell int) (*api.Cell, error) {
	var r api.Cell
	p := fmt.Sprintf("/v1/batches/%s/cells/%d/%d", root, n, cell)
	if err := c.do(ctx, http.MethodGet, p, nil, http.StatusOK, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// AltDAPut is the OP Stack alt-DA put (POST /put): it returns the generic
// commitment 0x01 ‖ da_layer_byte ‖ 0x02 ‖ blob_key once the blob is
// certified. A server that cannot certify in time answers 503
// (api.ErrNotCertified).
func (c *Client) AltDAPut(ctx context.Context, data []byte) ([]byte, error) {
	var b []byte
	if err := c.do(ctx, http.MethodPost, "/put", data, http.StatusOK, &b); err != nil {
		return nil, err
	}
	return b, nil
}

// AltDAGet is the OP Stack alt-DA get (GET /get/0x{commitment}).
func (c *Client) AltDAGet(ctx context.Context, commitment []byte) ([]byte, error) {
	var b []byte
	if err := c.do(ctx, http.MethodGet, "/get/0x"+hex.EncodeToString(commitment), nil, http.StatusOK, &b); err != nil {
		return nil, err
	}
	return b, nil
}

// expectContinueMin is the body size from which a request asks the server
// to accept it before sending it.
const expectContinueMin = 1 << 20

// do sends a request and decodes the answer into out: JSON, or raw bytes
// when out is a *[]byte. A status other than want is decoded as an *Error.
func (c *Client) do(ctx context.Context, method, path string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
		if len(body) >= expectContinueMin {
			// Let the server refuse (413, 429) before the body is sent.
			req.Header.Set("Expect", "100-continue")
		}
		if len(body) == 0 {
			req.Body = http.NoBody
			req.ContentLength = 0
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.max+1))
	if err != nil {
		return fmt.Errorf("zgda api: reading the answer to %s %s: %w", method, path, err)
	}
	if int64(len(raw)) > c.max {
		return fmt.Errorf("%w: the answer to %s %s exceeds %d bytes", ErrBadAnswer, method, path, c.max)
	}
	if resp.StatusCode != want {
		return decodeError(resp, raw)
	}
	if b, ok := out.(*[]byte); ok {
		*b = raw
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: decoding the answer to %s %s: %v", ErrBadAnswer, method, path, err)
	}
	return nil
}

func decodeError(resp *http.Response, raw []byte) error {
	e := &Error{StatusCode: resp.StatusCode}
	var b api.ErrorBody
	if json.Unmarshal(raw, &b) == nil && b.Code != "" {
		e.Code, e.Message = b.Code, b.Error
	} else {
		e.Code, e.Message = codeForStatus(resp.StatusCode), strings.TrimSpace(string(raw))
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return e
}

// codeForStatus names a non-API error response (a proxy's, say) by status.
func codeForStatus(status int) api.Code {
	switch status {
	case http.StatusNotFound:
		return api.CodeNotFound
	case http.StatusRequestEntityTooLarge:
		return api.CodeBlobTooLarge
	case http.StatusTooManyRequests:
		return api.CodeTooManyRequests
	case http.StatusServiceUnavailable:
		return api.CodeUnavailable
	case http.StatusMethodNotAllowed:
		return api.CodeMethodNotAllowed
	}
	if status >= 400 && status < 500 {
		return api.CodeBadRequest
	}
	return api.CodeInternal
}

// IsRetryable reports whether an error is worth retrying later: a full
// queue, the concurrency cap, a server shutting down, or a temporarily
// unavailable one.
func IsRetryable(err error) bool {
	return errors.Is(err, api.ErrQueueFull) || errors.Is(err, api.ErrTooManyRequests) ||
		errors.Is(err, api.ErrShuttingDown) || errors.Is(err, api.ErrUnavailable)
}
