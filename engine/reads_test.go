package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
)

// TestBlobServedOnlyOnceCertified: the local copy of a blob that is not
// certified is not served; the answer (409) names the status, over the
// native API and alt-DA alike.
func TestBlobServedOnlyOnceCertified(t *testing.T) {
	e, d, _, base := httpEngine(t, nil)
	release := make(chan struct{})
	d.set(func(f *fakeDisperser) { f.block = release })
	b := randBlob(t, 5000)
	r, err := client.New(base).Put(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Blob(context.Background(), r.BlobKey); !errors.Is(err, ErrNotYetCertified) {
		t.Fatalf("Blob before certification: %v", err)
	}
	for _, path := range []string{"/v1/blobs/" + r.BlobKey.String(), "/get/" + fmt.Sprintf("0x%x", altDACommitment(e.cfg.AltDA.DALayerByte, r.BlobKey))} {
		status, _, body := call(t, "GET", base+path, nil)
		if status != http.StatusConflict || !strings.Contains(string(body), string(api.CodeNotYetCertified)) ||
			!strings.Contains(string(body), " is ") {
			t.Fatalf("GET %s before certification: %d %s", path, status, body)
		}
	}
	close(release)
	if _, err := e.WaitCertified(ctxT(t, 30*time.Second), r.BlobKey); err != nil {
		t.Fatal(err)
	}
	if status, _, body := call(t, "GET", base+"/v1/blobs/"+r.BlobKey.String(), nil); status != http.StatusOK || string(body) != string(b) {
		t.Fatalf("GET after certification: %d", status)
	}
}

// TestHeavyReadsBounded: with every place of the expensive reads taken, a
// cell request waits Retrieval.QueueTimeout and is answered 429 with
// Retry-After, while posts are still taken in.
func TestHeavyReadsBounded(t *testing.T) {
	e, _, _, base := httpEngine(t, func(c *Config) {
		c.Retrieval.MaxHeavy = 1
		c.Retrieval.QueueTimeout = Duration(100 * time.Millisecond)
	})
	cl := client.New(base, client.WithPollInterval(10*time.Millisecond))
	r, err := cl.Put(context.Background(), randBlob(t, 5000))
	if err != nil {
		t.Fatal(err)
	}
	st, err := cl.WaitCertified(ctxT(t, 30*time.Second), r.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	cellPath := fmt.Sprintf("%s/v1/batches/%s/cells/0/5", base, st.BatchRoot)
	release, err := e.heavySlot(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	status, hdr, body := call(t, "GET", cellPath, nil)
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || !strings.Contains(string(body), "expensive reads") {
		t.Fatalf("cell with no place free: %d %s", status, body)
	}
	if _, err := cl.Put(context.Background(), randBlob(t, 6000)); err != nil {
		t.Fatalf("post while reads are saturated: %v", err)
	}
	release()
	if status, _, body := call(t, "GET", cellPath, nil); status != http.StatusOK {
		t.Fatalf("cell once a place is free: %d %s", status, body)
	}
}

// TestStatusFromTheChain: an engine that never held a blob answers its
// status from the chain — certified, with a proof that verifies — as it
// serves its bytes; unknown keys stay 404.
func TestStatusFromTheChain(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	a := startEngine(t, testConfig(t, tempDir(t)), d, c)
	b := randBlob(t, 2*encoder.BytesPerRow+7)
	r, err := a.Put(ctxT(t, 10*time.Second), b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitCertified(ctxT(t, 30*time.Second), r.BlobKey); err != nil {
		t.Fatal(err)
	}
	fresh := startEngine(t, testConfig(t, tempDir(t)), d, c)
	st, err := fresh.Status(ctxT(t, 10*time.Second), r.BlobKey)
	if err != nil || st.Status != api.StatusCertified || st.Length != len(b) || st.Rows != 3 || !st.AcceptedAt.IsZero() {
		t.Fatalf("status on a fresh engine: %+v, %v", st, err)
	}
	if err := st.VerifyInclusion(); err != nil {
		t.Fatalf("its inclusion proof: %v", err)
	}
	back, err := fresh.Blob(ctxT(t, 30*time.Second), r.BlobKey)
	if err != nil || !bytes.Equal(back, b) {
		t.Fatalf("bytes on a fresh engine: %v", err)
	}
	if _, err := fresh.Status(context.Background(), da.BlobKey{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
}
