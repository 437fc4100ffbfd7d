package devnet

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
)

// BenchOptions shape the end-to-end benchmark.
type BenchOptions struct {
	// Posters post concurrently, each blob after the previous one's 202.
	Posters int
	// Size is the blob size in bytes.
	Size int
	// Blobs is how many blobs are posted in all.
	Blobs int
	// EncodeBlobs is how many blobs the encode-only anchor encodes
	// (default min(Blobs, 8)).
	EncodeBlobs int
}

// BenchReport is what BenchE2E measured. Rates are in MB/s (10^6 bytes)
// of blob bytes as posted.
type BenchReport struct {
	Posters        int           `json:"posters"`
	Size           int           `json:"size"`
	Blobs          int           `json:"blobs"`
	Seconds        float64       `json:"seconds"`          // first post to last certified
	AcceptedMBps   float64       `json:"accepted_mbps"`    // blob bytes accepted (202) per second
	CertifiedMBps  float64       `json:"certified_mbps"`   // blob bytes certified per second
	AcceptP50      time.Duration `json:"accept_p50_ns"`    // post to 202
	AcceptP99      time.Duration `json:"accept_p99_ns"`    //
	P50            time.Duration `json:"certified_p50_ns"` // post to certified
	P99            time.Duration `json:"certified_p99_ns"` //
	EncodeOnlyMBps float64       `json:"encode_only_mbps"` // EncodeBlob on the same machine in the same run
	Ratio          float64       `json:"e2e_over_encode"`  // CertifiedMBps / EncodeOnlyMBps
}

// BenchE2E measures a running disperser at baseURL end to end: Posters
// post Blobs blobs of Size random bytes, every blob is followed until it is
// certified, and the rates and latencies are set beside the encode-only rate
// of the same blobs (encoder.EncodeBlob with kzg.Default(), before the
// posting starts, in this process).
func BenchE2E(ctx context.Context, baseURL string, o BenchOptions) (*BenchReport, error) {
	if o.Posters < 1 || o.Size < 1 || o.Size > encoder.MaxBlobSize || o.Blobs < 1 {
		return nil, fmt.Errorf("%w: posters %d, size %d, blobs %d: want ≥ 1 each and size ≤ %d",
			ErrConfig, o.Posters, o.Size, o.Blobs, encoder.MaxBlobSize)
	}
	if o.EncodeBlobs == 0 {
		o.EncodeBlobs = min(o.Blobs, 8)
	}
	blobs := make([][]byte, o.Blobs)
	for i := range blobs {
		blobs[i] = make([]byte, o.Size)
		if _, err := rand.Read(blobs[i]); err != nil {
			return nil, err
		}
	}
	r := &BenchReport{Posters: o.Posters, Size: o.Size, Blobs: o.Blobs}

	enc, err := encoder.New()
	if err != nil {
		return nil, err
	}
	if err := kzg.Default().Warm(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	for i := 0; i < o.EncodeBlobs; i++ {
		if _, err := enc.EncodeBlob(ctx, kzg.Default(), blobs[i%len(blobs)], nil); err != nil {
			return nil, err
		}
	}
	r.EncodeOnlyMBps = float64(o.EncodeBlobs*o.Size) / time.Since(t0).Seconds() / 1e6

	cl := client.New(baseURL, client.WithPollInterval(10*time.Millisecond),
		client.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * o.Posters}}))
	accept := make([]time.Duration, o.Blobs)
	certify := make([]time.Duration, o.Blobs)
	var acceptedAt time.Time
	var mu sync.Mutex
	next := 0
	errc := make(chan error, o.Posters)
	var wg sync.WaitGroup
	start := time.Now()
	for p := 0; p < o.Posters; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var followers sync.WaitGroup
			defer followers.Wait()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= o.Blobs {
					return
				}
				t := time.Now()
				res, err := putRetry(ctx, cl, blobs[i])
				if err != nil {
					errc <- fmt.Errorf("blob %d: %w", i, err)
					return
				}
				accept[i] = time.Since(t)
				mu.Lock()
				acceptedAt = time.Now()
				mu.Unlock()
				followers.Add(1)
				go func() {
					defer followers.Done()
					if _, err := cl.WaitCertified(ctx, res.BlobKey); err != nil {
						errc <- fmt.Errorf("blob %d (%s): %w", i, res.BlobKey, err)
						return
					}
					certify[i] = time.Since(t)
				}()
			}
		}()
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	total := float64(o.Blobs * o.Size)
	r.Seconds = time.Since(start).Seconds()
	r.AcceptedMBps = total / acceptedAt.Sub(start).Seconds() / 1e6
	r.CertifiedMBps = total / r.Seconds / 1e6
	r.AcceptP50, r.AcceptP99 = percentiles(accept)
	r.P50, r.P99 = percentiles(certify)
	r.Ratio = r.CertifiedMBps / r.EncodeOnlyMBps
	return r, nil
}

func putRetry(ctx context.Context, cl *client.Client, b []byte) (*api.PutResponse, error) {
	for {
		r, err := cl.Put(ctx, b)
		var ae *client.Error
		if errors.As(err, &ae) && client.IsRetryable(err) {
			select {
			case <-time.After(max(ae.RetryAfter/4, 20*time.Millisecond)):
				continue
			case <-ctx.Done():
				return nil, err
			}
		}
		return r, err
	}
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

// WriteTable prints the report.
func (r *BenchReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "posters\tblob size\tblobs\taccepted MB/s\tcertified MB/s\tencode-only MB/s\te2e/encode\t202 p50/p99\tcertified p50/p99\n")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.0f%%\t%v / %v\t%v / %v\n",
		r.Posters, r.Size, r.Blobs, r.AcceptedMBps, r.CertifiedMBps, r.EncodeOnlyMBps, 100*r.Ratio,
		r.AcceptP50.Round(time.Millisecond), r.AcceptP99.Round(time.Millisecond),
		r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond))
	return tw.Flush()
}
