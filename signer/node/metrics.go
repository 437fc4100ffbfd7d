package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zgda/zgda/chain"
)

// metrics are the node's Prometheus collectors. They are always kept, and
// exported only on a registry given with WithRegisterer.
type metrics struct {
	reg      prometheus.Registerer
	requests *prometheus.CounterVec
	verify   prometheus.Histogram
	checks   prometheus.Counter
	stored   prometheus.Counter
	rows     prometheus.Counter
	// cellPaths counts cell answers by how they were made.
	cellPaths *prometheus.CounterVec
	// poraAnswers counts proof-of-access answers by result; poraScore is
	// this node's score of the last finished epoch, by field.
	poraAnswers *prometheus.CounterVec
	poraScore   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "zgda", Subsystem: "node", Name: "requests_total",
			Help: "Requests served, by protocol (disperse, row, cell) and result (ok, busy, or the refusal code).",
		}, []string{"protocol", "result"}),
		verify: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "zgda", Subsystem: "node", Name: "verify_seconds",
			Help:    "Time to check and verify the rows of one dispersal request (canonical form and one batched KZG check).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		checks: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "zgda", Subsystem: "node", Name: "verify_checks_total",
			Help: "Random-linear-combination checks run to verify dispersed rows (one per request when all rows are good; bisection adds at most ceil(log2 n) per bad row).",
		}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "zgda", Subsystem: "node", Name: "stored_bytes_total",
			Help: "Row bytes stored durably from dispersal requests.",
		}),
		rows: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "zgda", Subsystem: "node", Name: "stored_rows_total",
			Help: "Rows stored durably from dispersal requests.",
		}),
		cellPaths: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "zgda", Subsystem: "node", Name: "cell_answers_total",
			Help: "Cells served, by path: single (one cell proved on its own), row (all 128 cells and proofs computed with FK20, proofs stored), proofs (cells extended again from the row, proofs read from disk), cached (from memory).",
		}, []string{"path"}),
		poraAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "zgda", Subsystem: "node", Name: "pora_answers_total",
			Help: "Proof-of-access challenges this node handled, by result: answered, row_missing (the challenged row is not stored), failed (retried).",
		}, []string{"result"}),
		poraScore: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "zgda", Subsystem: "node", Name: "pora_score",
			Help: "This node's proof-of-access score of the last finished epoch, by field: challenged, in_time, late, missing, invalid, points, epoch.",
		}, []string{"field"}),
	}
	if reg != nil {
		for _, c := range m.collectors() {
			reg.MustRegister(c)
		}
	}
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.verify, m.checks, m.stored, m.rows, m.cellPaths, m.poraAnswers, m.poraScore}
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors() {
		m.reg.Unregister(c)
	}
}

// setScore publishes a finished epoch's score.
func (m *metrics) setScore(sc *chain.Score) {
	for f, v := range map[string]float64{"challenged": float64(sc.Challenged), "in_time": float64(sc.InTime), "late": float64(sc.Late),
		"missing": float64(sc.Missing), "invalid": float64(sc.Invalid), "points": float64(sc.Points), "epoch": float64(sc.Epoch)} {
		m.poraScore.WithLabelValues(f).Set(v)
	}
}
