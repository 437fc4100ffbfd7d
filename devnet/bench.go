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
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
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
	// (default min(Blobs, 64)).
	EncodeBlobs int
	// Readers, if positive, sample random cells of one certified blob of
	// ReadSize bytes (default encoder.MaxBlobSize) from the disperser while
	// the posters post, as light clients would: the report says whether
	// reads made posts wait or fail.
	Readers  int
	ReadSize int
	// MemoryBudget is the devnet's memory budget (Network.MemoryBudget),
	// set beside the peak RSS when the devnet runs in this process; 0 if
	// unknown.
	MemoryBudget int64
}

// BenchReport is what BenchE2E measured. Rates are in MB/s (10^6 bytes)
// of blob bytes as posted.
type BenchReport struct {
	Posters       int           `json:"posters"`
	Size          int           `json:"size"`
	Blobs         int           `json:"blobs"`
	Seconds       float64       `json:"seconds"`          // first post to last certified
	AcceptedMBps  float64       `json:"accepted_mbps"`    // blob bytes accepted (202) per second
	CertifiedMBps float64       `json:"certified_mbps"`   // blob bytes certified per second
	AcceptP50     time.Duration `json:"accept_p50_ns"`    // post to 202
	AcceptP99     time.Duration `json:"accept_p99_ns"`    //
	P50           time.Duration `json:"certified_p50_ns"` // post to certified
	P99           time.Duration `json:"certified_p99_ns"` //
	// AfterAcceptP50/P99 run from the 202 to certified: the pipeline after
	// intake (batching, encoding, dispersal, the block), without the time a
	// post queued for its commitments.
	AfterAcceptP50 time.Duration `json:"accepted_to_certified_p50_ns"`
	AfterAcceptP99 time.Duration `json:"accepted_to_certified_p99_ns"`
	// InFlight is the mean number of posted blobs not yet certified (the
	// sum of the post-to-certified latencies over the run's length). By
	// Little's law the mean latency is InFlight blobs over the certified
	// rate: with every poster holding one post in intake, InFlight is at
	// least Posters, so the latency cannot fall below Posters·Size over the
	// certified rate.
	InFlight       float64 `json:"mean_in_flight_blobs"`
	EncodeOnlyMBps float64 `json:"encode_only_mbps"` // commit + EncodeBatch on the same machine in the same run
	Ratio          float64 `json:"e2e_over_encode"`  // CertifiedMBps / EncodeOnlyMBps
	// Batches and MeanBatchRows describe the batches the disperser cut;
	// RowBytesPerByte is the bytes of dispersed rows sent to DA nodes per
	// blob byte posted (≈ 4 when batches fill their window, docs/spec.md
	// §3.4, §4.2), HeaderBytesPerByte the same for batch headers. They are
	// read from the disperser's /metrics before and after, so other traffic
	// at the same time counts too.
	Batches            int     `json:"batches"`
	MeanBatchRows      float64 `json:"mean_batch_rows"`
	RowBytesPerByte    float64 `json:"row_bytes_per_byte"`
	HeaderBytesPerByte float64 `json:"header_bytes_per_byte"`
	// PostsRefused counts 429 answers to posts (retried).
	PostsRefused int64 `json:"posts_refused"`
	// With readers: their cell rate, the 429s and other failures they got,
	// and the peak RSS of this process beside the devnet's budget.
	Readers        int     `json:"readers,omitempty"`
	ReadSize       int     `json:"read_size,omitempty"`
	CellsPerSecond float64 `json:"cells_per_second,omitempty"`
	ReadsRefused   int64   `json:"reads_refused,omitempty"`
	ReadFailures   int64   `json:"read_failures,omitempty"`
	ReadError      string  `json:"read_error,omitempty"`
	PeakRSS        int64   `json:"peak_rss_bytes,omitempty"`
	MemoryBudget   int64   `json:"memory_budget_bytes,omitempty"`
}

// BenchE2E measures a running disperser at baseURL end to end: Posters
// post Blobs blobs of Size random bytes, every blob is followed until it is
// certified, and the rates and latencies are set beside the encode-only rate
// of the same blobs (their rows committed, then encoder.EncodeBatch over
// batches cut as a loaded disperser cuts them, with kzg.Default(), before the
// posting starts, in this process).
func BenchE2E(ctx context.Context, baseURL string, o BenchOptions) (*BenchReport, error) {
	if o.Posters < 1 || o.Size < 1 || o.Size > encoder.MaxBlobSize || o.Blobs < 1 {
		return nil, fmt.Errorf("%w: posters %d, size %d, blobs %d: want ≥ 1 each and size ≤ %d",
			ErrConfig, o.Posters, o.Size, o.Blobs, encoder.MaxBlobSize)
	}
	if o.EncodeBlobs == 0 {
		o.EncodeBlobs = min(o.Blobs, 64)
	}
	blobs := make([][]byte, o.Blobs)
	for i := range blobs {
		blobs[i] = make([]byte, o.Size)
		if _, err := rand.Read(blobs[i]); err != nil {
			return nil, err
		}
	}
	r := &BenchReport{Posters: o.Posters, Size: o.Size, Blobs: o.Blobs}

	if err := kzg.Default().Warm(); err != nil {
		return nil, err
	}
	mbps, err := encodeOnly(ctx, blobs[:min(o.EncodeBlobs, len(blobs))])
	if err != nil {
		return nil, err
	}
	r.EncodeOnlyMBps = mbps

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * (o.Posters + o.Readers)}}
	var reads *readLoad
	if o.Readers > 0 {
		if o.ReadSize == 0 {
			o.ReadSize = encoder.MaxBlobSize
		}
		r.Readers, r.ReadSize = o.Readers, o.ReadSize
		if reads, err = prepareReads(ctx, client.New(baseURL, client.WithHTTPClient(hc), client.WithPollInterval(20*time.Millisecond)), o.ReadSize); err != nil {
			return nil, err
		}
	}
	before, err := scrape(ctx, hc, baseURL)
	if err != nil {
		return nil, err
	}
	cl := client.New(baseURL, client.WithPollInterval(10*time.Millisecond), client.WithHTTPClient(hc))
	accept := make([]time.Duration, o.Blobs)
	certify := make([]time.Duration, o.Blobs)
	afterAccept := make([]time.Duration, o.Blobs)
	var acceptedAt time.Time
	var mu sync.Mutex
	next := 0
	errc := make(chan error, o.Posters)
	var wg sync.WaitGroup
	var refused atomic.Int64
	readCtx, stopReads := context.WithCancel(ctx)
	defer stopReads()
	var readers *sync.WaitGroup
	if reads != nil {
		readers = reads.run(readCtx, client.New(baseURL, client.WithHTTPClient(hc)), o.Readers)
	}
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
				res, err := putRetry(ctx, cl, blobs[i], &refused)
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
					afterAccept[i] = certify[i] - accept[i]
				}()
			}
		}()
	}
	wg.Wait()
	stopReads()
	if readers != nil {
		readers.Wait()
	}
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
	r.AfterAcceptP50, r.AfterAcceptP99 = percentiles(afterAccept)
	var sum time.Duration
	for _, d := range certify {
		sum += d
	}
	r.InFlight = sum.Seconds() / r.Seconds
	r.Ratio = r.CertifiedMBps / r.EncodeOnlyMBps
	r.PostsRefused = refused.Load()
	if reads != nil {
		reads.report(r, r.Seconds)
		r.PeakRSS, r.MemoryBudget = peakRSS(), o.MemoryBudget
	}
	after, err := scrape(ctx, hc, baseURL)
	if err != nil {
		return nil, err
	}
	r.Batches = int(after.batches - before.batches)
	if r.Batches > 0 {
		r.MeanBatchRows = (after.batchRows - before.batchRows) / float64(r.Batches)
	}
	r.RowBytesPerByte = (after.rowBytes - before.rowBytes) / total
	r.HeaderBytesPerByte = (after.headerBytes - before.headerBytes) / total
	return r, nil
}

// encodeOnly is the anchor rate: the blobs' rows committed in calls of up
// to MaxBatchRows rows (as intake commits posts that arrive together), then
// one EncodeBatch per batch, cut as a loaded disperser cuts them (at
// ceil(W/4) rows for the default window, never past MaxBatchRows).
func encodeOnly(ctx context.Context, blobs [][]byte) (float64, error) {
	enc, err := encoder.New()
	if err != nil {
		return 0, err
	}
	kc := kzg.Default()
	minRows := (da.DefaultMinBatchSlots + da.ExtensionFactor - 1) / da.ExtensionFactor
	start := time.Now()
	var batch []*encoder.Blob
	var pending [][]byte
	rows := 0
	flush := func() error {
		if len(batch) > 0 {
			b, err := enc.EncodeBatch(ctx, kc, batch, nil)
			if err != nil {
				return err
			}
			b.Release() // hands a lent output set back for the next batch
		}
		batch, rows = batch[:0], 0
		return nil
	}
	commit := func() error {
		var all [][]fr.Element
		packed := make([][][]fr.Element, len(pending))
		for i, b := range pending {
			p, err := encoder.Pack(b)
			if err != nil {
				return err
			}
			packed[i] = p
			all = append(all, p...)
		}
		comms, err := kc.CommitRows(ctx, all, nil)
		if err != nil {
			return err
		}
		for i, b := range pending {
			eb, err := encoder.NewBlob(len(b), packed[i], comms[:len(packed[i])])
			if err != nil {
				return err
			}
			comms = comms[len(packed[i]):]
			r := len(eb.Rows)
			if rows > 0 && rows+r > encoder.MaxBatchRows {
				if err := flush(); err != nil {
					return err
				}
			}
			batch, rows = append(batch, eb), rows+r
			if rows >= minRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		pending = pending[:0]
		return nil
	}
	pendingRows := 0
	for _, b := range blobs {
		r := int(da.RowsFor(uint64(len(b))))
		if pendingRows > 0 && pendingRows+r > encoder.MaxBatchRows {
			if err := commit(); err != nil {
				return 0, err
			}
			pendingRows = 0
		}
		pending, pendingRows = append(pending, b), pendingRows+r
	}
	if err := commit(); err != nil {
		return 0, err
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return float64(len(blobs)*len(blobs[0])) / time.Since(start).Seconds() / 1e6, nil
}

// counters are the disperser metrics the benchmark reads.
type counters struct{ batches, batchRows, rowBytes, headerBytes float64 }

// scrape reads the disperser's /metrics (Prometheus text format).
func scrape(ctx context.Context, hc *http.Client, baseURL string) (counters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return counters{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return counters{}, fmt.Errorf("devnet: reading %s/metrics: %w", baseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return counters{}, fmt.Errorf("devnet: %s/metrics answered %s", baseURL, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return counters{}, fmt.Errorf("devnet: %s/metrics: %w", baseURL, err)
	}
	var c counters
	if mf := mfs["zgda_engine_batch_rows"]; mf != nil && len(mf.GetMetric()) > 0 {
		h := mf.GetMetric()[0].GetHistogram()
		c.batches, c.batchRows = float64(h.GetSampleCount()), h.GetSampleSum()
	}
	mf := mfs["zgda_engine_dispersal_sent_bytes_total"]
	if mf == nil {
		return counters{}, fmt.Errorf("devnet: %s/metrics has no zgda_engine_dispersal_sent_bytes_total: not a zgda disperser?", baseURL)
	}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() != "kind" {
				continue
			}
			switch l.GetValue() {
			case "rows":
				c.rowBytes = m.GetCounter().GetValue()
			case "headers":
				c.headerBytes = m.GetCounter().GetValue()
			}
		}
	}
	return c, nil
}

// putRetry posts b until it is accepted, retrying retryable answers;
// refused, if not nil, counts the 429s.
func putRetry(ctx context.Context, cl *client.Client, b []byte, refused *atomic.Int64) (*api.PutResponse, error) {
	for {
		r, err := cl.Put(ctx, b)
		var ae *client.Error
		if errors.As(err, &ae) && client.IsRetryable(err) {
			if refused != nil && ae.StatusCode == http.StatusTooManyRequests {
				refused.Add(1)
			}
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
	fmt.Fprintf(tw, "posters\tblob size\tblobs\taccepted MB/s\tcertified MB/s\tencode-only MB/s\te2e/encode\t202 p50/p99\tcertified p50/p99\t202→certified p50/p99\tin flight\tbatches\trows/batch\trow B/B\theader B/B\n")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.0f%%\t%v / %v\t%v / %v\t%v / %v\t%.1f\t%d\t%.1f\t%.2f\t%.4f\n",
		r.Posters, r.Size, r.Blobs, r.AcceptedMBps, r.CertifiedMBps, r.EncodeOnlyMBps, 100*r.Ratio,
		r.AcceptP50.Round(time.Millisecond), r.AcceptP99.Round(time.Millisecond),
		r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond),
		r.AfterAcceptP50.Round(time.Millisecond), r.AfterAcceptP99.Round(time.Millisecond), r.InFlight,
		r.Batches, r.MeanBatchRows, r.RowBytesPerByte, r.HeaderBytesPerByte)
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Readers == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nwith %d readers sampling cells of a %d-byte blob: %.1f cells/s, reads refused (429) %d, other read failures %d; posts refused (429) %d",
		r.Readers, r.ReadSize, r.CellsPerSecond, r.ReadsRefused, r.ReadFailures, r.PostsRefused)
	if r.PeakRSS > 0 {
		fmt.Fprintf(w, "; peak RSS %d MiB", r.PeakRSS>>20)
		if r.MemoryBudget > 0 {
			fmt.Fprintf(w, " (the devnet's memory budget: %d MiB)", r.MemoryBudget>>20)
		}
	}
	if r.ReadError != "" {
		fmt.Fprintf(w, "\nfirst read failure: %s", r.ReadError)
	}
	fmt.Fprintln(w)
	return nil
}
