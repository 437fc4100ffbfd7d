package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/engine/api"
)

// The client against the real engine is tested in package engine and in
// the devnet's end-to-end tests; these cases cover answers the engine does
// not give (a proxy's plain-text errors, oversized answers).
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		header  map[string]string
		want    error
		code    api.Code
		retry   time.Duration
		message string
	}{
		{"api json", 429, `{"error":"queue full: retry later","code":"queue_full"}`, map[string]string{"Retry-After": "3"},
			api.ErrQueueFull, api.CodeQueueFull, 3 * time.Second, "queue full: retry later"},
		{"api not found", 404, `{"error":"not found: no blob","code":"not_found"}`, nil, api.ErrNotFound, api.CodeNotFound, 0, "not found: no blob"},
		{"proxy 502", 502, "Bad Gateway", nil, api.ErrInternal, api.CodeInternal, 0, "Bad Gateway"},
		{"proxy 413", 413, "too big", nil, api.ErrBlobTooLarge, api.CodeBlobTooLarge, 0, "too big"},
		{"unknown code", 418, `{"error":"teapot","code":"teapot"}`, nil, nil, "teapot", 0, "teapot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := New(srv.URL).Status(context.Background(), da.BlobKey{})
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != tc.status || e.Code != tc.code || e.RetryAfter != tc.retry || e.Message != tc.message {
				t.Fatalf("got %#v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("%v does not match %v", err, tc.want)
			}
		})
	}
}

func TestResponseLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 2000))
	}))
	defer srv.Close()
	_, err := New(srv.URL, WithMaxResponseBytes(1000)).Get(context.Background(), da.BlobKey{})
	if err == nil {
		t.Fatal("an answer over the limit was accepted")
	}
}

func TestWaitCertifiedFailedAndContext(t *testing.T) {
	var key da.BlobKey
	key[0] = 7
	var status atomic.Value
	status.Store(`{"blob_key":"` + key.String() + `","status":"failed","reason":"gave up","length":1,"rows":1}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(status.Load().(string)))
	}))
	defer srv.Close()
	_, err := New(srv.URL).WaitCertified(context.Background(), key)
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Reason != "gave up" || !errors.Is(err, api.ErrNotCertified) {
		t.Fatalf("failed blob: %v", err)
	}
	status.Store(`{"blob_key":"` + key.String() + `","status":"queued","length":1,"rows":1}`)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = New(srv.URL, WithPollInterval(10*time.Millisecond)).WaitCertified(ctx, key)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued forever: %v", err)
	}
	// A certified status whose proof does not check out is an error.
	status.Store(`{"blob_key":"` + key.String() + `","status":"certified","length":1,"rows":1}`)
	if _, err := New(srv.URL).WaitCertified(context.Background(), key); err == nil {
		t.Fatal("a certified status without a certificate was accepted")
	}
}
