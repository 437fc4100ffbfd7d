package storage

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// counters are the Store's running totals; Stats reads them and the
// Prometheus collectors export them, so there is one source of truth.
type counters struct {
	puts, deletes, gets  atomic.Uint64
	bytesIn, bytesOut    atomic.Uint64
	groups, groupRecords atomic.Uint64
	checkpoints          atomic.Uint64
	reconstructs         atomic.Uint64 // reads that needed parity
	repairs              atomic.Uint64 // shards rewritten
	repairFailures       atomic.Uint64
	unrecoverable        atomic.Uint64
	scrubbedRecords      atomic.Uint64
	scrubPasses          atomic.Uint64
	compactedSegments    atomic.Uint64
	movedBytes           atomic.Uint64
	reclaimedBytes       atomic.Uint64
	pruned               atomic.Uint64
	replayedRecords      atomic.Uint64
	volumeFailures       atomic.Uint64 // volumes marked offline
	healPasses           atomic.Uint64 // volumes healed back to online
	healScanned          atomic.Uint64 // records a heal pass looked at
}

func (s *Store) collectors() []prometheus.Collector {
	c := &s.ctr
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "zgda", Subsystem: "storage", Name: name, Help: help},
			func() float64 { return float64(v.Load()) })
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "zgda", Subsystem: "storage", Name: name, Help: help}, f)
	}
	return []prometheus.Collector{
		counter("puts_total", "Values written (Put and batch puts).", &c.puts),
		counter("deletes_total", "Keys deleted (Delete and batch deletes).", &c.deletes),
		counter("gets_total", "Values read.", &c.gets),
		counter("written_bytes_total", "Value bytes written by callers.", &c.bytesIn),
		counter("read_bytes_total", "Value bytes returned to callers.", &c.bytesOut),
		counter("group_commits_total", "Group commits (one fsync round each).", &c.groups),
		counter("group_records_total", "Log records written by group commits.", &c.groupRecords),
		counter("checkpoints_total", "Index checkpoints fsync'd.", &c.checkpoints),
		counter("reconstructs_total", "Reads that rebuilt shards from parity.", &c.reconstructs),
		counter("shard_repairs_total", "Shards rewritten after a bad or missing read.", &c.repairs),
		counter("shard_repair_failures_total", "Shard rewrites that failed.", &c.repairFailures),
		counter("unrecoverable_total", "Reads that found more bad shards than parity.", &c.unrecoverable),
		counter("scrubbed_records_total", "Records verified by the scrubber.", &c.scrubbedRecords),
		counter("scrub_passes_total", "Completed scrub passes.", &c.scrubPasses),
		counter("compacted_segments_total", "Segments removed by compaction.", &c.compactedSegments),
		counter("compaction_moved_bytes_total", "Bytes copied forward by compaction (per volume).", &c.movedBytes),
		counter("reclaimed_bytes_total", "Bytes freed by compaction (per volume).", &c.reclaimedBytes),
		counter("pruned_total", "Keys removed by retention.", &c.pruned),
		counter("volume_failures_total", "Times a volume was marked offline (I/O error, deadline missed).", &c.volumeFailures),
		counter("volume_heals_total", "Volumes healed back to full redundancy.", &c.healPasses),
		gauge("volumes_missing", "Volumes offline or healing (writes stop above the parity).", func() float64 { return float64(s.missing()) }),
		gauge("read_only", "1 while a disk is below the free-space watermark and writes are refused.", func() float64 {
			if s.readOnly.Load() != nil {
				return 1
			}
			return 0
		}),
		gauge("segments", "Segments on disk.", func() float64 { return float64(s.Stats().Segments) }),
		gauge("live_bytes", "Bytes per volume held by live records.", func() float64 { return float64(s.Stats().LiveBytes) }),
		gauge("segment_bytes", "Bytes per volume held by segments.", func() float64 { return float64(s.Stats().SegmentBytes) }),
	}
}

// Stats is a snapshot of the Store's counters and space use.
type Stats struct {
	Segments      int
	ActiveSegment uint64
	SegmentBytes  int64 // bytes per volume in all segments
	LiveBytes     int64 // bytes per volume held by live records
	LiveRecords   int   // segment-resident live values (inline ones not counted)
	Tombstones    int   // delete records kept until the puts they deleted are compacted away

	Puts, Deletes, Gets        uint64
	GroupCommits, Records      uint64
	Checkpoints                uint64
	Reconstructs, Repairs      uint64
	RepairFailures             uint64
	Unrecoverable              uint64
	ScrubbedRecords            uint64
	ScrubPasses                uint64
	CompactedSegments          uint64
	MovedBytes, ReclaimedBytes uint64
	Pruned                     uint64
	ReplayedRecords            uint64
}

// Stats returns a snapshot of counters and space use.
func (s *Store) Stats() Stats {
	c := &s.ctr
	st := Stats{
		Puts: c.puts.Load(), Deletes: c.deletes.Load(), Gets: c.gets.Load(),
		GroupCommits: c.groups.Load(), Records: c.groupRecords.Load(),
		Checkpoints:  c.checkpoints.Load(),
		Reconstructs: c.reconstructs.Load(), Repairs: c.repairs.Load(),
		RepairFailures: c.repairFailures.Load(), Unrecoverable: c.unrecoverable.Load(),
		ScrubbedRecords: c.scrubbedRecords.Load(), ScrubPasses: c.scrubPasses.Load(),
		CompactedSegments: c.compactedSegments.Load(),
		MovedBytes:        c.movedBytes.Load(), ReclaimedBytes: c.reclaimedBytes.Load(),
		Pruned: c.pruned.Load(), ReplayedRecords: c.replayedRecords.Load(),
	}
	s.segs.mu.Lock()
	defer s.segs.mu.Unlock()
	st.Segments = len(s.segs.segs)
	if s.segs.active != nil {
		st.ActiveSegment = s.segs.active.id
	}
	for _, g := range s.segs.segs {
		st.SegmentBytes += g.size
		st.LiveBytes += g.live
		st.LiveRecords += g.liveCount
		st.Tombstones += g.tombCount
	}
	return st
}
