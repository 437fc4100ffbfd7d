package api

import (
	"errors"
	"net/http"
)

// Code is the machine-readable part of an error response.
type Code string

// The error codes, with the HTTP status each is sent with.
const (
	CodeEmptyBlob        Code = "empty_blob"         // 400: POST with no body
	CodeBlobTooLarge     Code = "blob_too_large"     // 413: body over MaxBlobSize (or the configured body limit)
	CodeInvalidBlobKey   Code = "invalid_blob_key"   // 400: a path key that is not 0x + 64 hex digits
	CodeInvalidRoot      Code = "invalid_batch_root" // 400: a path root that is not 0x + 64 hex digits
	CodeInvalidCommit    Code = "invalid_commitment" // 400: an alt-DA commitment that is not 0x01 ‖ da_layer_byte ‖ 0x02 ‖ key
	CodeInvalidRow       Code = "invalid_row"        // 400: a dispersed row index that is not a decimal in [0, N)
	CodeInvalidCell      Code = "invalid_cell"       // 400: a cell index that is not a decimal in [0, 128)
	CodeNotFound         Code = "not_found"          // 404: unknown blob, batch or path
	CodeMethodNotAllowed Code = "method_not_allowed" // 405, with Allow
	CodeTimeout          Code = "request_timeout"    // 408: the request was not read in time
	CodeHeaderTooLarge   Code = "headers_too_large"  // 431
	CodeQueueFull        Code = "queue_full"         // 429, with Retry-After: the pipeline holds its maximum
	CodeTooManyRequests  Code = "too_many_requests"  // 429, with Retry-After: the concurrent request cap
	CodeNotYetCertified  Code = "not_yet_certified"  // 409: the blob is known but not certified (its status says why)
	CodeShuttingDown     Code = "shutting_down"      // 503 with Retry-After (429 on /put, where 503 means fail over)
	CodeNotCertified     Code = "not_certified"      // 503: /put could not certify in time (or the blob failed)
	CodeUnavailable      Code = "unavailable"        // 503: shutting down, or the DA nodes could not serve the data
	CodeInternal         Code = "internal"           // 500
	CodeBadRequest       Code = "bad_request"        // 400: a request the server could not parse
)

// Sentinel errors, one per condition a caller may act on. The engine
// returns errors wrapping them and the HTTP layer picks status and code from
// them; package client returns errors that match the same sentinels under
// errors.Is.
var (
	ErrEmptyBlob       = errors.New("blob is empty: post at least one byte")
	ErrBlobTooLarge    = errors.New("blob is larger than the maximum blob size")
	ErrInvalidBlobKey  = errors.New("invalid blob key")
	ErrInvalidRoot     = errors.New("invalid batch root")
	ErrInvalidCommit   = errors.New("invalid alt-DA commitment")
	ErrInvalidRow      = errors.New("invalid row index")
	ErrInvalidCell     = errors.New("invalid cell index")
	ErrNotFound        = errors.New("not found")
	ErrMethod          = errors.New("method not allowed")
	ErrTimeout         = errors.New("request timed out")
	ErrHeaderTooLarge  = errors.New("request headers too large")
	ErrQueueFull       = errors.New("queue full: retry later")
	ErrTooManyRequests = errors.New("too many concurrent requests: retry later")
	ErrNotYetCertified = errors.New("blob not certified yet")
	ErrShuttingDown    = errors.New("server shutting down: retry later")
	ErrNotCertified    = errors.New("blob not certified in time")
	ErrUnavailable     = errors.New("service unavailable")
	ErrInternal        = errors.New("internal error")
	ErrBadRequest      = errors.New("bad request")
)

var codes = []struct {
	code   Code
	status int
	err    error
}{
	{CodeEmptyBlob, http.StatusBadRequest, ErrEmptyBlob},
	{CodeBlobTooLarge, http.StatusRequestEntityTooLarge, ErrBlobTooLarge},
	{CodeInvalidBlobKey, http.StatusBadRequest, ErrInvalidBlobKey},
	{CodeInvalidRoot, http.StatusBadRequest, ErrInvalidRoot},
	{CodeInvalidCommit, http.StatusBadRequest, ErrInvalidCommit},
	{CodeInvalidRow, http.StatusBadRequest, ErrInvalidRow},
	{CodeInvalidCell, http.StatusBadRequest, ErrInvalidCell},
	{CodeNotFound, http.StatusNotFound, ErrNotFound},
	{CodeMethodNotAllowed, http.StatusMethodNotAllowed, ErrMethod},
	{CodeTimeout, http.StatusRequestTimeout, ErrTimeout},
	{CodeHeaderTooLarge, http.StatusRequestHeaderFieldsTooLarge, ErrHeaderTooLarge},
	{CodeQueueFull, http.StatusTooManyRequests, ErrQueueFull},
	{CodeTooManyRequests, http.StatusTooManyRequests, ErrTooManyRequests},
	{CodeNotYetCertified, http.StatusConflict, ErrNotYetCertified},
	{CodeShuttingDown, http.StatusServiceUnavailable, ErrShuttingDown},
	{CodeNotCertified, http.StatusServiceUnavailable, ErrNotCertified},
	{CodeUnavailable, http.StatusServiceUnavailable, ErrUnavailable},
	{CodeInternal, http.StatusInternalServerError, ErrInternal},
	{CodeBadRequest, http.StatusBadRequest, ErrBadRequest},
}

// Classify returns the code and HTTP status for an error, by the first
// sentinel it wraps; anything else is internal.
func Classify(err error) (Code, int) {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code, c.status
		}
	}
	return CodeInternal, http.StatusInternalServerError
}

// Sentinel returns the sentinel error of a code (nil for an unknown code).
func (c Code) Sentinel() error {
	for _, x := range codes {
		if x.code == c {
			return x.err
		}
	}
	return nil
}

// HTTPStatus returns the status a code is sent with (500 for an unknown code).
func (c Code) HTTPStatus() int {
	for _, x := range codes {
		if x.code == c {
			return x.status
		}
	}
	return http.StatusInternalServerError
}
