package engine

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus collectors, all registered on the
// engine's own registry (never the global one).
type metrics struct {
	all []prometheus.Collector

	blobs         *prometheus.CounterVec   // blobs passing each stage
	bytes         *prometheus.CounterVec   // their bytes (as posted)
	stage         *prometheus.HistogramVec // stage latencies
	certFailures  *prometheus.CounterVec   // failed dispersal/submit attempts, batches given up
	rejected      *prometheus.CounterVec   // posts refused, by reason
	batchBlobs    prometheus.Histogram
	batchRows     prometheus.Histogram
	sent          *prometheus.CounterVec // bytes sent to DA nodes: rows, headers
	commitCalls   prometheus.Histogram   // blobs per CommitRows call
	http          *prometheus.CounterVec
	httpSeconds   *prometheus.HistogramVec
	reconstructs  *prometheus.CounterVec
	heavyReads    prometheus.Gauge // expensive reads running (cells, rebuilds)
	putWaiters    prometheus.Gauge // /put calls waiting for their certificate
	reposts       prometheus.Counter
	cellPaths     *prometheus.CounterVec // cells computed here, by path
	deviceRows    *prometheus.CounterVec // data rows kept on the encoder's device, released, or not kept
	parityBatches *prometheus.CounterVec // batches whose parity rows the backend lent, released, or Go memory
}

const ns = "zgda_engine"

func newMetrics(e *Engine) *metrics {
	m := &metrics{
		blobs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "blobs_total",
			Help: "Blobs passing each stage: accepted, recovered, encoded, dispersed, certified, failed."}, []string{"stage"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "bytes_total",
			Help: "Bytes (as posted) passing each stage."}, []string{"stage"}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "stage_seconds",
			Help:    "Latency of each stage: intake (post to 202), commit (one CommitRows call), encode (one batch), disperse, submit (one attempt each), end_to_end (accepted to certified).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18)}, []string{"stage"}),
		certFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "certification_failures_total",
			Help: "Failed certification attempts by step (disperse, submit) and batches given up (gave_up)."}, []string{"step"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rejected_total",
			Help: "Requests refused, by reason: empty, too_large, queue_full, too_many_requests (posts or reads at their cap), reads_busy (no place for an expensive read in time), waiters_full, connections_full."}, []string{"reason"}),
		batchBlobs: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "batch_blobs",
			Help: "Blobs per batch.", Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "batch_rows",
			Help: "Data rows D per batch.", Buckets: prometheus.ExponentialBuckets(1, 2, 9)}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "dispersal_sent_bytes_total",
			Help: "Bytes sent to DA nodes by every dispersal attempt: dispersed rows (rows) and batch headers (headers)."}, []string{"kind"}),
		commitCalls: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "commit_call_blobs",
			Help: "Blobs whose rows one intake CommitRows call committed.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "http_request_seconds",
			Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18)}, []string{"route"}),
		reconstructs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "reconstructions_total",
			Help: "Reads served by reconstructing from DA nodes, by result."}, []string{"result"}),
		heavyReads: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "heavy_reads",
			Help: "Expensive reads running now (a row's cells and proofs, a blob rebuilt from DA nodes); at most retrieval.max_heavy."}),
		putWaiters: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "altda_put_waiters",
			Help: "Alt-DA /put calls waiting for their certificate; at most altda.max_waiters."}),
		cellPaths: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "cell_computations_total",
			Help: "Cells proved here: single (one cell, one MSM) or row (a row's 128 cells by FK20, then cached)."}, []string{"path"}),
		deviceRows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "device_rows_total",
			Help: "Data rows committed at intake by a ResidentCommitter: kept on its device for the batch's encoding, released (encoded, or the post dropped), or not_kept (the device store was full: the batch uploads them)."}, []string{"event"}),
		parityBatches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "parity_batches_total",
			Help: "Encoded batches by where their parity rows live: lent (the encoder backend's reusable memory, a GPU's pinned output set), released (a lent batch handed back once final), go (Go memory, nothing to hand back)."}, []string{"event"}),
		reposts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "reposts_total",
			Help: "Posts of bytes already accepted, recognised by content hash before any commitment work."}),
	}
	backend := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "encoder_backend_info",
		Help: "The encoder backend in use (value 1)."}, []string{"backend"})
	backend.WithLabelValues(e.enc.Backend().Name()).Set(1)

	depth := func(stage string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "queue_depth",
			Help: "Items waiting at each stage: commit (posts), batcher (blobs), encode and disperse (batches).", ConstLabels: prometheus.Labels{"stage": stage}}, f)
	}
	locked := func(f func() float64) func() float64 {
		return func() float64 { e.mu.Lock(); defer e.mu.Unlock(); return f() }
	}
	m.all = []prometheus.Collector{m.blobs, m.bytes, m.stage, m.certFailures, m.rejected, m.batchBlobs, m.batchRows, m.sent,
		m.commitCalls, m.http, m.httpSeconds, m.reconstructs, m.heavyReads, m.putWaiters, m.reposts, m.cellPaths, m.deviceRows, m.parityBatches, backend,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "encoders",
			Help: "Batches the encode stage encodes at once (the encoder backend's BatchConcurrency)."}, func() float64 { return float64(e.encoders) }),
		depth("commit", func() float64 { return float64(len(e.commitCh)) }),
		depth("batcher", locked(func() float64 { return float64(len(e.queue)) })),
		depth("encode", func() float64 { return float64(len(e.encodeCh)) }),
		depth("disperse", func() float64 { return float64(len(e.disperseCh)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "queue_bytes",
			Help: "Bytes (as posted) waiting for the batcher."}, locked(func() float64 { return float64(e.queueBytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "queue_rows",
			Help: "Data rows waiting for the batcher."}, locked(func() float64 { return float64(e.queueRows) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "intake_blobs",
			Help: "Accepted posts still being packed, committed or stored."}, locked(func() float64 { return float64(e.intake) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "pending_blobs",
			Help: "Accepted blobs holding a place (not yet certified or failed)."}, locked(func() float64 { return float64(e.pendBlobs) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "pending_memory_bytes",
			Help: "Memory reserved by pending blobs in encoder form."}, locked(func() float64 { return float64(e.pendMem) })),
	}
	for _, s := range []string{"accepted", "recovered", "encoded", "dispersed", "certified", "failed"} {
		m.blobs.WithLabelValues(s)
		m.bytes.WithLabelValues(s)
	}
	for _, s := range []string{"rows", "headers"} {
		m.sent.WithLabelValues(s)
	}
	for _, s := range []string{"disperse", "submit", "gave_up"} {
		m.certFailures.WithLabelValues(s)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.all {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.all {
		c.Collect(ch)
	}
}
