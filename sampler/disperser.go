package sampler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/engine/api"
)

// disperser reads a batch's header and cells from the disperser's HTTP API
// (docs/spec.md §7: GET /v1/batches/{root} and
// /v1/batches/{root}/cells/{n}/{c}). Its answers are checked like any DA
// node's.
type disperser struct {
	base string
	hc   *http.Client
}

func newDisperser(baseURL string) *disperser {
	return &disperser{base: strings.TrimRight(baseURL, "/"), hc: &http.Client{}}
}

// maxHTTPAnswer bounds a disperser answer: a cell and proof in hex, or the
// header of the largest batch (256 blob headers, 256 commitments) in JSON.
const maxHTTPAnswer = 256 << 10

// errBadAnswer: a success answer that is oversized or does not decode, or a
// batch header that does not check.
var errBadAnswer = errors.New("bad answer")

// httpError is an error answer of the disperser.
type httpError struct {
	status int
	code   api.Code
	msg    string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("disperser answered %d %s: %s", e.status, e.code, e.msg)
}

// header returns the batch header the disperser serves for root, checked
// against the root (api.Batch.Header: every blob header hashes to its key,
// the blobs hash to the root).
func (d *disperser) header(ctx context.Context, root da.Hash) (*da.BatchHeader, error) {
	var b api.Batch
	if err := d.get(ctx, "/v1/batches/"+root.String(), &b); err != nil {
		return nil, err
	}
	if b.BatchRoot != root {
		return nil, fmt.Errorf("%w: asked for batch %s, got %s", errBadAnswer, root, b.BatchRoot)
	}
	h, err := b.Header()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadAnswer, err)
	}
	return h, nil
}

// cell returns cell c of dispersed row n of the batch, unchecked.
func (d *disperser) cell(ctx context.Context, root da.Hash, n uint32, c uint16) (*api.Cell, error) {
	var out api.Cell
	if err := d.get(ctx, fmt.Sprintf("/v1/batches/%s/cells/%d/%d", root, n, c), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (d *disperser) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPAnswer+1))
	if err != nil {
		return fmt.Errorf("reading the answer to GET %s: %w", path, err)
	}
	if len(raw) > maxHTTPAnswer {
		return fmt.Errorf("%w: the answer to GET %s exceeds %d bytes", errBadAnswer, path, maxHTTPAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		e := &httpError{status: resp.StatusCode}
		var b api.ErrorBody
		if json.Unmarshal(raw, &b) == nil && b.Code != "" {
			e.code, e.msg = b.Code, b.Error
		} else {
			e.msg = strings.TrimSpace(string(raw))
		}
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: decoding the answer to GET %s: %v", errBadAnswer, path, err)
	}
	return nil
}

// httpFault maps a disperser error to a Fault.
func httpFault(err error) Fault {
	var he *httpError
	switch {
	case errors.Is(err, errBadAnswer):
		return Malformed
	case errors.As(err, &he) && (he.status == http.StatusTooManyRequests || he.status == http.StatusServiceUnavailable):
		return Busy
	case errors.As(err, &he) && he.status >= 400 && he.status < 500:
		return Withheld
	case errors.As(err, &he):
		return Unreachable
	case errors.Is(err, context.DeadlineExceeded):
		return TimedOut
	}
	return Unreachable
}
