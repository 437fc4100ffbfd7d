package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
)

// render is the canonical path of a route (the inverse of parsePath).
func (r route) render() string {
	switch r.kind {
	case routePostBlob:
		return "/v1/blobs"
	case routeGetBlob:
		return "/v1/blobs/" + r.key.String()
	case routeStatus:
		return "/v1/blobs/" + r.key.String() + "/status"
	case routeCommitments:
		return "/v1/blobs/" + r.key.String() + "/commitments"
	case routeBatch:
		return "/v1/batches/" + r.root.String()
	case routeBatchCell:
		return fmt.Sprintf("/v1/batches/%s/cells/%d/%d", r.root, r.row, r.cell)
	case routeAltPut:
		return "/put"
	case routeAltGet:
		return fmt.Sprintf("/get/0x%x", altDACommitment(r.daLayer, r.key))
	case routeHealth:
		return "/healthz"
	case routeMetrics:
		return "/metrics"
	}
	return ""
}

var pathSeeds = []string{
	"/v1/blobs", "/v1/blobs/", "/v1/blobs/0x" + strings.Repeat("0a", 32),
	"/v1/blobs/0x" + strings.Repeat("0a", 32) + "/status",
	"/v1/blobs/0x" + strings.Repeat("0a", 32) + "/commitments",
	"/v1/batches/0x" + strings.Repeat("0b", 32),
	"/v1/batches/0x" + strings.Repeat("Ff", 32) + "/cells/1023/127",
	"/v1/batches/0x" + strings.Repeat("0a", 32) + "/cells/01/0",
	"/v1/batches/", "/v1/batches/0x/cells//",
	"/put", "/put/", "/put/0x00", "/get/0x017a02" + strings.Repeat("11", 32), "/get/0x017a00" + strings.Repeat("11", 32),
	"/get/0x", "/healthz", "/metrics",
	"", "/", "//", "/v1/blobs/0x/cells//", "/v1/blobs/\x00", "/get/0x01\xff",
}

func TestParsePath(t *testing.T) {
	for _, p := range pathSeeds {
		r, err := parsePath(p)
		if err != nil {
			code, status := api.Classify(err)
			if status != 400 && status != 404 {
				t.Errorf("%q: %v classified %s %d", p, err, code, status)
			}
			continue
		}
		if r.kind == routeAltPut || r.kind == routePostBlob || r.kind == routeHealth || r.kind == routeMetrics {
			continue
		}
		if got := r.render(); !strings.EqualFold(got, p) {
			t.Errorf("%q parsed to %+v, which renders as %q", p, r, got)
		}
	}
}

// FuzzParsePath: paths are outside input. parsePath never panics, every
// error is a 400 or 404 with a code, and a parsed path renders back to one
// that parses to the same route.
func FuzzParsePath(f *testing.F) {
	for _, p := range pathSeeds {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := parsePath(p)
		if err != nil {
			if _, status := api.Classify(err); status != 400 && status != 404 {
				t.Fatalf("%q: %v is a %d", p, err, status)
			}
			return
		}
		r2, err := parsePath(r.render())
		if err != nil || r2 != r {
			t.Fatalf("%q → %+v → %q → %+v, %v", p, r, r.render(), r2, err)
		}
	})
}

// TestHTTPOversizedBlob announces a body one byte over MaxBlobSize and
// does not send it: the server answers 413 with a JSON error without
// reading the body — from the headers alone when the client asks first
// (Expect: 100-continue), and after fasthttp's 8 KiB prefetch of a streamed
// body otherwise. (A client that streams the whole body may instead see the
// connection closed under it — also a refusal, but a racy one to test.)
func TestHTTPOversizedBlob(t *testing.T) {
	_, _, _, base := httpEngine(t, nil)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, expect string
		send         int
	}{{"expect 100-continue, nothing sent", "Expect: 100-continue\r\n", 0}, {"8 KiB sent", "", 8 << 10}} {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "POST /v1/blobs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n%s\r\n%s",
			u.Host, encoder.MaxBlobSize+1, tc.expect, make([]byte, tc.send))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: no answer to an oversized announcement: %v", tc.name, err)
		}
		var body struct{ Error, Code string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: 413 body is not a JSON error: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || body.Error == "" || body.Code != "blob_too_large" {
			t.Fatalf("%s: oversized post: %d %+v", tc.name, resp.StatusCode, body)
		}
	}
	// The client announces large bodies (Expect: 100-continue), so it gets
	// the same refusal without sending the body.
	var ae *client.Error
	_, err = client.New(base).Put(context.Background(), make([]byte, encoder.MaxBlobSize+1))
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusRequestEntityTooLarge || !errors.Is(err, api.ErrBlobTooLarge) {
		t.Fatalf("oversized post through the client: %v", err)
	}
	_, err = client.New(base).Put(context.Background(), nil)
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty post through the client: %v", err)
	}
}
