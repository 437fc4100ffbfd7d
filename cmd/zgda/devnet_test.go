package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zgda/zgda/client"
)

// startCommand runs the CLI in the background until the returned cancel is
// called, and waits for re to match its output.
func startCommand(t *testing.T, re *regexp.Regexp, args ...string) (*syncBuffer, []string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var buf syncBuffer
	freshCLI(&buf, args)
	done := make(chan error, 1)
	go func() { done <- rootCmd.ExecuteContext(ctx) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !re.MatchString(buf.String()) {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("no start output: %s", buf.String())
		}
		select {
		case err := <-done:
			done <- err
			stop()
			t.Fatalf("%s returned %v: %s", args[0], err, buf.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return &buf, re.FindStringSubmatch(buf.String()), stop
}

func TestDevnetCommand(t *testing.T) {
	dir := t.TempDir()
	apiRe := regexp.MustCompile(`API\s+(http://127\.0\.0\.1:\d+)`)
	buf, m, stop := startCommand(t, apiRe, "devnet", "--dir", dir, "--nodes", "3", "--api", "127.0.0.1:0", "--rpc", "", "--fast")
	out := buf.String()
	for _, want := range []string{"created: 3 DA nodes", "curl -s --data-binary", "/metrics", "resumes"} {
		if !strings.Contains(out, want) {
			stop()
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	// How to point an OP Stack rollup at it: the flags, with the real URL.
	url := m[1]
	for _, want := range []string{
		"op-node     --altda.enabled=true --altda.da-server=" + url + " --altda.da-service=true --altda.verify-on-read=false\n",
		"op-batcher  --altda.enabled=true --altda.da-server=" + url + " --altda.da-service=true\n",
		"curl -s --data-binary @- " + url + "/put | od -An -tx1 | tr -d ' \\n')\n",
		"curl -s " + url + "/get/0x$comm\n",
		"GenericCommitment",
	} {
		if !strings.Contains(out, want) {
			stop()
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	cl := client.New(url, client.WithPollInterval(20*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The printed alt-DA round trip: POST /put answers the commitment,
	// GET /get/0x{commitment} the bytes.
	if err := altDARoundTrip(ctx, url, []byte("hello, rollup\n")); err != nil {
		stop()
		t.Fatal(err)
	}
	r, err := cl.Put(ctx, []byte("hello from the CLI test"))
	if err == nil {
		_, err = cl.WaitCertified(ctx, r.BlobKey)
	}
	if err := stop(); err != nil {
		t.Fatalf("devnet: %v\n%s", err, buf.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "stopped") {
		t.Fatalf("no clean stop:\n%s", buf.String())
	}
	// Again on the same directory: resumed, the blob still there.
	buf, m, stop = startCommand(t, apiRe, "devnet", "--dir", dir, "--api", "127.0.0.1:0", "--rpc", "", "--fast")
	defer stop()
	if !strings.Contains(buf.String(), "resumed: 3 DA nodes") {
		t.Fatalf("second start:\n%s", buf.String())
	}
	back, err := client.New(m[1]).Get(ctx, r.BlobKey)
	if err != nil || !bytes.Equal(back, []byte("hello from the CLI test")) {
		t.Fatalf("after resume: %q, %v", back, err)
	}
	// A devnet made with 3 nodes refuses --nodes 5.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "devnet", "--dir", dir, "--nodes", "5", "--api", "127.0.0.1:0", "--rpc", ""); err == nil ||
		!strings.Contains(err.Error(), "created with 3 nodes") {
		t.Fatalf("--nodes 5 on a 3-node devnet: %v\n%s", err, out)
	}
}

// altDARoundTrip does what the devnet's curl example does: POST the frame
// to /put, then GET /get/0x{commitment} and compare.
func altDARoundTrip(ctx context.Context, url string, frame []byte) error {
	do := func(method, u string, body []byte) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, b)
		}
		return b, err
	}
	comm, err := do(http.MethodPost, url+"/put", frame)
	if err != nil {
		return err
	}
	if len(comm) != 35 || comm[0] != 0x01 {
		return fmt.Errorf("POST /put answered %x, want a 35-byte generic commitment", comm)
	}
	back, err := do(http.MethodGet, url+"/get/0x"+hex.EncodeToString(comm), nil)
	if err != nil {
		return err
	}
	if !bytes.Equal(back, frame) {
		return fmt.Errorf("GET /get/0x%x answered %q, want %q", comm, back, frame)
	}
	return nil
}

func TestBenchE2ECommand(t *testing.T) {
	out, err := run(t, "bench", "e2e", "--fast", "--nodes", "2", "--posters", "2", "--blobs", "3", "--size", "10000", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{`"certified_mbps"`, `"encode_only_mbps"`, `"machine"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %s:\n%s", want, out)
		}
	}
}
