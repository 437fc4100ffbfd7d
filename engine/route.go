package engine

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/engine/api"
)

// routeKind names an endpoint of docs/spec.md §7.
type routeKind int

const (
	routePostBlob    routeKind = iota + 1 // POST /v1/blobs
	routeGetBlob                          // GET /v1/blobs/{key}
	routeStatus                           // GET /v1/blobs/{key}/status
	routeCommitments                      // GET /v1/blobs/{key}/commitments
	routeBatch                            // GET /v1/batches/{root}
	routeBatchCell                        // GET /v1/batches/{root}/cells/{n}/{c}
	routeAltPut                           // POST /put, /put/
	routeAltGet                           // GET /get/0x{commitment}
	routeHealth                           // GET /healthz
	routeMetrics                          // GET /metrics
)

var routeNames = map[routeKind]string{
	routePostBlob: "post_blob", routeGetBlob: "get_blob", routeStatus: "status", routeCommitments: "commitments",
	routeBatch: "batch", routeBatchCell: "batch_cell", routeAltPut: "altda_put", routeAltGet: "altda_get", routeHealth: "healthz", routeMetrics: "metrics",
}

func (k routeKind) String() string {
	if n, ok := routeNames[k]; ok {
		return n
	}
	return "unknown"
}

// method is the one method a route answers (GET routes answer HEAD too).
func (k routeKind) method() string {
	if k == routePostBlob || k == routeAltPut {
		return "POST"
	}
	return "GET"
}

// route is a parsed request path.
type route struct {
	kind      routeKind
	key       da.BlobKey
	root      da.Hash // routeBatch, routeBatchCell
	row, cell int     // routeBatchCell: dispersed row n, cell c
	daLayer   byte    // routeAltGet: the commitment's da_layer_byte
}

// Alt-DA generic commitments (OP Stack, docs/spec.md §7): 0x01 ‖
// da_layer_byte ‖ version ‖ payload, version 0x02 for zgda/v2 blob keys.
const (
	altDAGeneric   = 0x01
	altDAVersion   = 0x02
	altDACommitLen = 3 + 32
)

// altDACommitment is the commitment /put returns for a blob key.
func altDACommitment(daLayer byte, key da.BlobKey) []byte {
	return append([]byte{altDAGeneric, daLayer, altDAVersion}, key[:]...)
}

// maxIndexDigits bounds row and cell indices before parsing (rows < 1024).
const maxIndexDigits = 6

// parsePath parses a request path (already percent-decoded). It never
// panics; a malformed key, commitment or index is an error that wraps the
// matching api sentinel and names the problem, an unknown path wraps
// ErrNotFound.
func parsePath(path string) (route, error) {
	switch path {
	case "/v1/blobs":
		return route{kind: routePostBlob}, nil
	case "/put", "/put/":
		return route{kind: routeAltPut}, nil
	case "/healthz":
		return route{kind: routeHealth}, nil
	case "/metrics":
		return route{kind: routeMetrics}, nil
	}
	if rest, ok := strings.CutPrefix(path, "/put/"); ok {
		return route{}, fmt.Errorf("%w: /put/%s: this server makes generic commitments from the posted bytes; "+
			"precomputed (keccak256) commitments in the path are not supported, POST to /put", api.ErrInvalidCommit, clip(rest))
	}
	if rest, ok := strings.CutPrefix(path, "/get/"); ok {
		return parseAltDAGet(rest)
	}
	if rest, ok := strings.CutPrefix(path, "/v1/batches/"); ok {
		return parseBatchPath(path, rest)
	}
	rest, ok := strings.CutPrefix(path, "/v1/blobs/")
	if !ok {
		return route{}, fmt.Errorf("%w: no endpoint %s", api.ErrNotFound, clip(path))
	}
	parts := strings.Split(rest, "/")
	r := route{}
	switch {
	case len(parts) == 1:
		r.kind = routeGetBlob
	case len(parts) == 2 && parts[1] == "status":
		r.kind = routeStatus
	case len(parts) == 2 && parts[1] == "commitments":
		r.kind = routeCommitments
	default:
		return route{}, fmt.Errorf("%w: no endpoint %s (blob endpoints: /v1/blobs/{key}, …/status, …/commitments)",
			api.ErrNotFound, clip(path))
	}
	key, err := parseKey(parts[0])
	if err != nil {
		return route{}, err
	}
	r.key = key
	return r, nil
}

// parseBatchPath parses what follows /v1/batches/: {root} or
// {root}/cells/{n}/{c}.
func parseBatchPath(path, rest string) (route, error) {
	parts := strings.Split(rest, "/")
	r := route{}
	switch {
	case len(parts) == 1:
		r.kind = routeBatch
	case len(parts) == 4 && parts[1] == "cells":
		r.kind = routeBatchCell
	default:
		return route{}, fmt.Errorf("%w: no endpoint %s (batch endpoints: /v1/batches/{root}, …/cells/{n}/{c})",
			api.ErrNotFound, clip(path))
	}
	if err := parseHex32(parts[0], r.root[:], api.ErrInvalidRoot); err != nil {
		return route{}, err
	}
	if r.kind == routeBatchCell {
		var err error
		if r.row, err = parseIndex("row", parts[2], api.ErrInvalidRow); err != nil {
			return route{}, err
		}
		if r.cell, err = parseIndex("cell", parts[3], api.ErrInvalidCell); err != nil {
			return route{}, err
		}
	}
	return r, nil
}

// parseKey parses a blob key in a path: 0x and 64 lowercase or uppercase
// hex digits.
func parseKey(s string) (da.BlobKey, error) {
	var k da.BlobKey
	return k, parseHex32(s, k[:], api.ErrInvalidBlobKey)
}

// parseHex32 parses 0x and 64 hex digits into dst, or names the problem
// under sentinel.
func parseHex32(s string, dst []byte, sentinel error) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty; want 0x followed by 64 hex digits", sentinel)
	case !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X"):
		return fmt.Errorf("%w: %q does not start with 0x", sentinel, clip(s))
	case len(s) != 2+64:
		return fmt.Errorf("%w: %q has %d hex digits, want 64", sentinel, clip(s), len(s)-2)
	}
	if _, err := hex.Decode(dst, []byte(s[2:])); err != nil {
		return fmt.Errorf("%w: %q: %v", sentinel, clip(s), err)
	}
	return nil
}

// parseIndex parses a canonical non-negative decimal (no sign, no leading
// zeros) of at most maxIndexDigits digits.
func parseIndex(what, s string, sentinel error) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: %s index is empty", sentinel, what)
	}
	if len(s) > maxIndexDigits {
		return 0, fmt.Errorf("%w: %s index %q is too large", sentinel, what, clip(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %s index %q is not a decimal number", sentinel, what, clip(s))
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%w: %s index %q has a leading zero", sentinel, what, clip(s))
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s index %q: %v", sentinel, what, clip(s), err)
	}
	return v, nil
}

// parseAltDAGet parses the commitment of GET /get/0x{commitment}.
func parseAltDAGet(s string) (route, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return route{}, fmt.Errorf("%w: %q does not start with 0x", api.ErrInvalidCommit, clip(s))
	}
	h := s[2:]
	if len(h) != 2*altDACommitLen {
		return route{}, fmt.Errorf("%w: %d hex digits, want %d (0x01 ‖ da_layer_byte ‖ 0x02 ‖ 32-byte blob key)",
			api.ErrInvalidCommit, len(h), 2*altDACommitLen)
	}
	var b [altDACommitLen]byte
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return route{}, fmt.Errorf("%w: %v", api.ErrInvalidCommit, err)
	}
	if b[0] != altDAGeneric {
		return route{}, fmt.Errorf("%w: commitment type 0x%02x; this server serves generic commitments (0x01) only",
			api.ErrInvalidCommit, b[0])
	}
	if b[2] != altDAVersion {
		return route{}, fmt.Errorf("%w: version byte 0x%02x; this server's blob keys are zgda/v2 (0x%02x)", api.ErrInvalidCommit, b[2], altDAVersion)
	}
	r := route{kind: routeAltGet, daLayer: b[1]}
	copy(r.key[:], b[3:])
	return r, nil
}

// clip shortens outside input quoted in an error message.
func clip(s string) string {
	const n = 80
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
