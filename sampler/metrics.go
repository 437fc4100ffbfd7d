package sampler

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Sampler's Prometheus series; without a registerer they
// are kept but not exported.
type metrics struct {
	samples  *prometheus.CounterVec // by outcome
	requests *prometheus.CounterVec // by source kind and result
	batches  *prometheus.CounterVec // by verdict
	blobs    *prometheus.CounterVec // by verdict, each blob of a checked batch
	seconds  prometheus.Histogram   // one batch's check
	verify   prometheus.Histogram   // one batch verification
	conf     prometheus.Gauge       // the last available batch's confidence
	height   prometheus.Gauge       // the last block Follow finished
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zgda_sampler_samples_total", Help: "Cells sampled, by outcome (ok, failed, unanswered) from the DA nodes.",
		}, []string{"outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zgda_sampler_requests_total", Help: "Cell requests, by source (node, disperser) and result (served or the fault); the disperser's are no evidence of availability.",
		}, []string{"source", "result"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zgda_sampler_batches_total", Help: "Batches checked, by verdict (available, unavailable).",
		}, []string{"verdict"}),
		blobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zgda_sampler_blobs_total", Help: "Blob verdicts, by verdict (available, unavailable): one for each blob a batch's check was for.",
		}, []string{"verdict"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "zgda_sampler_batch_seconds", Help: "Time to check one batch.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		verify: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "zgda_sampler_verify_seconds", Help: "Time to verify one round's cells in a batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		conf: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zgda_sampler_last_confidence", Help: "Confidence of the last batch found available.",
		}),
		height: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zgda_sampler_followed_height", Help: "The last chain height whose certified batches were all checked.",
		}),
	}
	for _, o := range []Outcome{OK, Failed, Unanswered} {
		m.samples.WithLabelValues(o.String())
	}
	for _, v := range []string{"available", "unavailable"} {
		m.batches.WithLabelValues(v)
		m.blobs.WithLabelValues(v)
	}
	if reg != nil {
		reg.MustRegister(m.samples, m.requests, m.batches, m.blobs, m.seconds, m.verify, m.conf, m.height)
	}
	return m
}

// observe records a batch's check, which gives blobs blob verdicts.
func (m *metrics) observe(r *Report, blobs int) {
	for _, s := range r.Samples {
		m.samples.WithLabelValues(s.Outcome.String()).Inc()
	}
	count := func(src string, n *NodeReport) {
		m.requests.WithLabelValues(src, "served").Add(float64(n.Served))
		for f, c := range n.Faults {
			m.requests.WithLabelValues(src, f).Add(float64(c))
		}
	}
	for i := range r.Nodes {
		count("node", &r.Nodes[i])
	}
	if r.Disperser != nil {
		count("disperser", r.Disperser)
	}
	m.batches.WithLabelValues(r.Verdict()).Inc()
	m.blobs.WithLabelValues(r.Verdict()).Add(float64(blobs))
	m.seconds.Observe(r.Elapsed.Seconds())
	if r.Available {
		m.conf.Set(r.Confidence)
	}
}
