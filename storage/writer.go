package storage

import "fmt"

// Volume writers: each volume has a writer goroutine that writes the
// committer's groups in log order and a syncer behind it that fdatasyncs
// them, so that group N+1 is written while group N syncs (commit.go).

// preallocChunk is how far ahead of the writes segment space is reserved.
const preallocChunk = 64 << 20

// stagingMax: pieces smaller than this are copied into one buffer per
// volume so a group of small records costs one pwrite per volume; larger
// ones are written directly from the caller's memory.
const stagingMax = 256 << 10

func (s *Store) writeVolume(g *segment, v int, recs []*encoded) error {
	f, err := g.file(v, true)
	if err != nil {
		return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
	}
	// Reserve the space ahead in chunks, so appends find their blocks
	// allocated (and contiguous) instead of allocating on every write.
	if end := recs[len(recs)-1].off + recs[len(recs)-1].size(); end > g.prealloc[v] {
		chunk := max(min(s.cfg.Log.SegmentSize, preallocChunk), end-g.prealloc[v])
		if err := f.Preallocate(g.prealloc[v], chunk); err == nil {
			g.prealloc[v] += chunk
		} else {
			g.prealloc[v] = end // not worth failing the write over; the write itself will say
		}
	}
	stageBuf := getBuf(stagingMax * 2)
	defer putBuf(stageBuf)
	stage := (*stageBuf)[:0]
	stageOff := recs[0].off
	pos := stageOff // file position of the next byte to write
	flush := func() error {
		if len(stage) == 0 {
			return nil
		}
		_, err := f.WriteAt(stage, stageOff)
		stage = stage[:0]
		return err
	}
	for _, r := range recs {
		var hdr [headerSize]byte
		h := shardHeader{Shard: uint8(v), K: uint8(s.codec.k), M: uint8(s.codec.m), Segment: r.seg, Offset: r.off,
			Seq: r.seq, PayloadLen: uint32(r.payloadLen), ShardLen: uint32(r.shardLen), DataCRC: r.crcs[v]}
		h.encode(hdr[:])
		pieces := append([][]byte{hdr[:]}, r.shards[v]...)
		for _, p := range pieces {
			if len(p) < stagingMax {
				if len(stage)+len(p) > cap(stage) {
					if err := flush(); err != nil {
						return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
					}
				}
				if len(stage) == 0 {
					stageOff = pos
				}
				stage = append(stage, p...)
			} else {
				if err := flush(); err != nil {
					return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
				}
				if _, err := f.WriteAt(p, pos); err != nil {
					return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
				}
			}
			pos += int64(len(p))
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
	}
	return nil
}

// volWriter runs one volume's group writes in log order and, behind them,
// their fdatasyncs: group N+1 is written while group N syncs. A group's
// records on a volume are durable only once its sync returns, and a sync
// also covers every write queued before it, so a later group never reaches
// the disk without the earlier ones' bytes having been written first.
type volWriter struct {
	writes chan *volJob
	syncs  chan *volJob
}

type volJob struct {
	g    *segment
	recs []*encoded
	call *ioCall
}

// writerDepth bounds the groups queued on a volume; the committer has at
// most two in flight.
const writerDepth = 8

func (s *Store) startWriters() {
	for v := range s.vols {
		w := &volWriter{writes: make(chan *volJob, writerDepth), syncs: make(chan *volJob, writerDepth)}
		s.writers = append(s.writers, w)
		go func() {
			defer close(w.syncs)
			for j := range w.writes {
				if err := s.writeVolume(j.g, v, j.recs); err != nil {
					j.call.finish(err)
					continue
				}
				if len(w.writes) == 0 && len(w.syncs) == 0 {
					// Nothing to overlap with: sync here and save a hop.
					// A sync still running on the syncer is for earlier
					// writes; this one covers them too.
					s.syncJobs(v, []*volJob{j})
					continue
				}
				w.syncs <- j
			}
		}()
		go func() {
			for j := range w.syncs {
				batch := []*volJob{j}
			more: // one fdatasync for every write queued behind it in the same segment
				for len(batch) < writerDepth {
					select {
					case k, ok := <-w.syncs:
						if !ok {
							break more
						}
						if k.g != j.g {
							s.syncJobs(v, batch)
							batch, j = nil, k
						}
						batch = append(batch, k)
					default:
						break more
					}
				}
				s.syncJobs(v, batch)
			}
		}()
	}
}

// syncJobs fdatasyncs the segment file the jobs (all of one segment) wrote.
func (s *Store) syncJobs(v int, jobs []*volJob) {
	f, err := jobs[0].g.file(v, true)
	if err == nil {
		err = f.SyncData()
	}
	if err != nil {
		err = fmt.Errorf("volume %d (%s): fdatasync: %w", v, s.vols[v].path, err)
	}
	for _, j := range jobs {
		j.call.finish(err)
	}
}

func (s *Store) stopWriters() {
	for _, w := range s.writers {
		close(w.writes)
	}
}

func (w *volWriter) submit(s *Store, v int, g *segment, recs []*encoded) *ioCall {
	c := newIOCall(s, v)
	w.writes <- &volJob{g: g, recs: recs, call: c}
	return c
}
