package storage

import "fmt"

// LogPosition names a place in the segment log.
type LogPosition struct {
	Segment uint64 `json:"segment"`
	Offset  int64  `json:"offset"`
}

// DroppedRecords is one damaged stretch of the log that Check found or
// Repair dropped: the bytes [Offset, End) of Segment, which hold no record
// with k good shards, and the keys of the intact records around it that
// belong to the same batches (dropped too, so that no batch is half applied).
type DroppedRecords struct {
	Segment   uint64        `json:"segment"`
	Offset    int64         `json:"offset"`
	End       int64         `json:"end"` // where the next intact record starts
	BatchKeys [][]byte      `json:"batch_keys,omitempty"`
	Err       *CorruptError `json:"-"`
}

// LogReport is what a replay of the log found: by Open (torn tails only;
// damage fails Open), Check (everything, nothing written) or Repair
// (everything, the damage dropped).
type LogReport struct {
	Checkpoint LogPosition       `json:"checkpoint"` // where the replay started
	Segments   int               `json:"segments"`   // segments scanned
	Records    int               `json:"records"`    // intact records scanned
	TornTails  []LogPosition     `json:"torn_tails,omitempty"`
	Corrupt    []*DroppedRecords `json:"corrupt,omitempty"`
}

// Check scans the log that Open would replay and reports torn tails and
// damaged records without changing the log or the index (Pebble itself may
// replay its own write-ahead log). The error is nil when the scan ran,
// whatever it found; rep.Corrupt lists the damage. The store must not be
// open elsewhere.
func Check(cfg Config, opts ...Option) (*LogReport, error) {
	s, rep, err := open(cfg, replayCheck, opts)
	if err != nil {
		return rep, err
	}
	s.closeParts()
	return rep, nil
}

// Repair replays the log like Open but drops damaged records instead of
// failing: each damaged stretch and the intact records of batches it breaks
// are skipped, the rest is replayed and checkpointed past, and the report
// says what was dropped. Values dropped this way are lost unless parity
// elsewhere holds them; fetch them again from their source. Run Check first.
func Repair(cfg Config, opts ...Option) (*LogReport, error) {
	s, rep, err := open(cfg, replayRepair, opts)
	if err != nil {
		return rep, err
	}
	for _, d := range rep.Corrupt {
		s.log.Warn("repair dropped a damaged log stretch", "segment", d.Segment, "offset", d.Offset, "end", d.End,
			"batch_records", len(d.BatchKeys), "err", d.Err)
	}
	if err := s.Close(); err != nil {
		return rep, err
	}
	return rep, nil
}

func (r *LogReport) String() string {
	return fmt.Sprintf("replayed from segment %d offset %d: %d segments, %d intact records, %d torn tails, %d damaged stretches",
		r.Checkpoint.Segment, r.Checkpoint.Offset, r.Segments, r.Records, len(r.TornTails), len(r.Corrupt))
}
