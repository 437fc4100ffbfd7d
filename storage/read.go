package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
)

// errSegmentGone: the entry's segment was compacted away between the index
// lookup and the read; the caller looks the key up again.
var errSegmentGone = errors.New("segment compacted away")

// parallelReadMin: shards at least this large are read on separate
// goroutines.
const parallelReadMin = 256 << 10

func (s *Store) get(ctx context.Context, key []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, err := s.lookup(key)
		if err != nil {
			return nil, err
		}
		if e.inline() {
			return e.Inline, nil
		}
		v, err := s.readValue(key, &e, false)
		if errors.Is(err, errSegmentGone) && attempt < 8 {
			continue
		}
		return v, err
	}
}

// readValue reads a segment-resident value, verifying (and with verifyAll,
// also checking parity shards and headers) and healing as it goes.
func (s *Store) readValue(key []byte, e *entry, verifyAll bool) ([]byte, error) {
	g := s.segs.acquire(e.Segment)
	if g == nil {
		return nil, errSegmentGone
	}
	defer s.segs.release(g)
	payload, err := s.loadRecord(g, key, e, verifyAll)
	if err != nil {
		return nil, err
	}
	v := payload[:e.ValueLen:e.ValueLen]
	if !bytes.Equal(payload[e.ValueLen:int(e.ValueLen)+int(e.KeyLen)], key) {
		return nil, &CorruptError{Key: key, Where: fmt.Sprintf("segment %d offset %d", e.Segment, e.Offset),
			Detail: "the record holds another key; the index is inconsistent"}
	}
	return v, nil
}

// readShard reads shard v of the record at e into dst (len ShardLen) and
// checks it. With header it also reads and checks the shard header. It
// returns "" when the shard is good, else why not.
func (s *Store) readShard(g *segment, e *entry, v int, dst []byte, header bool) string {
	if !s.usable(v) {
		return "volume offline"
	}
	if s.cfg.Volumes.IOTimeout <= 0 {
		return s.readShardNow(g, e, v, dst, header)
	}
	// A call past its deadline may still write dst later: the caller
	// (loadRecord) then moves the record to fresh buffers (rebase).
	var why string
	if err := s.volIO(v, func() error { why = s.readShardNow(g, e, v, dst, header); return nil }); err != nil {
		return reasonTimeout
	}
	return why
}

// reasonTimeout: a shard read that missed the I/O deadline; its buffer may
// still be written by the hung call.
const reasonTimeout = "read error: no answer within the I/O deadline (storage.volumes.io_timeout); the disk may be hung"

// rebase moves a record being read to fresh buffers after a shard read
// timed out (the hung call may write its old buffer at any time): the
// shards read in time are copied, the others left empty.
func rebase(shards [][]byte, k, S int, timedOut []int) (buf []byte) {
	buf = make([]byte, k*S)
	for i := range shards {
		var dst []byte
		if i < k {
			dst = buf[i*S : (i+1)*S : (i+1)*S]
		} else if shards[i] != nil {
			dst = make([]byte, S)
		} else {
			continue
		}
		if !slices.Contains(timedOut, i) {
			copy(dst, shards[i])
		}
		shards[i] = dst
	}
	return buf
}

func (s *Store) readShardNow(g *segment, e *entry, v int, dst []byte, header bool) string {
	f, err := g.file(v, false)
	if errors.Is(err, fs.ErrNotExist) {
		if g.isDeleted() {
			return "segment gone"
		}
		return "missing segment file"
	}
	if err != nil {
		return "open: " + err.Error()
	}
	if header {
		var hb [headerSize]byte
		if _, err := f.ReadAt(hb[:], e.Offset); err != nil {
			return readReason(err)
		}
		h, err := decodeShardHeader(hb[:])
		if err != nil {
			return "bad header: " + err.Error()
		}
		if int(h.Shard) != v || int(h.K) != s.codec.k || int(h.M) != s.codec.m || h.Segment != g.id || h.Offset != e.Offset ||
			h.Seq != e.Seq || h.PayloadLen != e.PayloadLen || h.ShardLen != e.ShardLen || h.DataCRC != e.CRCs[v] {
			return "bad header: does not describe this record"
		}
	}
	if _, err := f.ReadAt(dst, e.Offset+headerSize); err != nil {
		return readReason(err)
	}
	if crc(dst) != e.CRCs[v] {
		return "checksum mismatch"
	}
	return ""
}

func readReason(err error) string {
	if errors.Is(err, io.EOF) {
		return "truncated"
	}
	return "read error: " + err.Error()
}

func (g *segment) isDeleted() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.deleted
}

// readShards reads shards[i] for every i in idx (in parallel when large) and
// returns the reasons, indexed like idx.
func (s *Store) readShards(g *segment, e *entry, shards [][]byte, idx []int, header bool) []string {
	reasons := make([]string, len(idx))
	if len(idx) == 1 || int(e.ShardLen) < parallelReadMin {
		for j, v := range idx {
			reasons[j] = s.readShard(g, e, v, shards[v], header)
		}
		return reasons
	}
	var wg sync.WaitGroup
	for j, v := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reasons[j] = s.readShard(g, e, v, shards[v], header)
		}()
	}
	wg.Wait()
	return reasons
}

// loadRecord returns the payload of the record e points to. The fast path
// reads the k data shards. If one is bad it reads the rest, rebuilds the
// bad shards from any k good ones, checks them against the index's
// checksums, rewrites them on their volumes and returns the payload. With
// verifyAll (the scrubber) every shard and header is read and checked.
func (s *Store) loadRecord(g *segment, key []byte, e *entry, verifyAll bool) ([]byte, error) {
	k, n := s.codec.k, s.codec.n()
	S := int(e.ShardLen)
	buf := make([]byte, k*S)
	shards := make([][]byte, n)
	for i := 0; i < k; i++ {
		shards[i] = buf[i*S : (i+1)*S : (i+1)*S]
	}
	first := k
	if verifyAll {
		first = n
		for i := k; i < n; i++ {
			shards[i] = make([]byte, S)
		}
	}
	idx := make([]int, first)
	for i := range idx {
		idx[i] = i
	}
	reasons := s.readShards(g, e, shards, idx, verifyAll)
	var faults []ShardFault
	var timedOut []int
	for j, r := range reasons {
		if r != "" {
			faults = append(faults, ShardFault{Volume: idx[j], Path: s.vols[idx[j]].path, Reason: r})
		}
		if r == reasonTimeout {
			timedOut = append(timedOut, idx[j])
		}
	}
	if len(timedOut) > 0 {
		buf = rebase(shards, k, S, timedOut)
	}
	if len(faults) == 0 {
		return buf[:e.PayloadLen], nil
	}
	for _, f := range faults {
		if f.Reason == "segment gone" {
			return nil, errSegmentGone
		}
	}
	if !verifyAll && n > k {
		// Slow path: bring in the parity shards too.
		pidx := make([]int, 0, n-k)
		for i := k; i < n; i++ {
			shards[i] = make([]byte, S)
			pidx = append(pidx, i)
		}
		var late []int
		for j, r := range s.readShards(g, e, shards, pidx, true) {
			if r != "" {
				faults = append(faults, ShardFault{Volume: pidx[j], Path: s.vols[pidx[j]].path, Reason: r})
			}
			if r == reasonTimeout {
				late = append(late, pidx[j])
			}
		}
		if len(late) > 0 {
			buf = rebase(shards, k, S, late)
		}
	}
	if n-len(faults) < k {
		s.ctr.unrecoverable.Add(1)
		return nil, &UnrecoverableError{Key: append([]byte{}, key...), Segment: e.Segment, Offset: e.Offset,
			Faults: faults, Parity: s.codec.m, Shards: n}
	}
	for _, f := range faults {
		if f.Volume < k {
			shards[f.Volume] = shards[f.Volume][:0] // rebuilt in place, inside buf
		} else {
			shards[f.Volume] = nil
		}
	}
	if err := s.codec.rs.Reconstruct(shards); err != nil {
		return nil, &CorruptError{Key: key, Where: fmt.Sprintf("segment %d offset %d", e.Segment, e.Offset), Detail: "reconstruction failed: " + err.Error()}
	}
	s.ctr.reconstructs.Add(1)
	for _, f := range faults {
		if got := crc(shards[f.Volume]); got != e.CRCs[f.Volume] {
			// More shards were bad than their checksums showed, or the
			// index is damaged: refuse rather than return or write guesses.
			return nil, &CorruptError{Key: key, Where: fmt.Sprintf("segment %d offset %d", e.Segment, e.Offset),
				Detail: fmt.Sprintf("rebuilt shard %d does not match its checksum", f.Volume)}
		}
	}
	for _, f := range faults {
		s.repairShard(g, key, e, f.Volume, shards[f.Volume], f.Reason)
	}
	return buf[:e.PayloadLen], nil
}

// repairShard rewrites shard v (header and data) in place and syncs it.
// Failures are logged and counted; the read still succeeds.
func (s *Store) repairShard(g *segment, key []byte, e *entry, v int, data []byte, why string) {
	if !s.usable(v) {
		return // offline: its heal pass rewrites what it misses once it is back
	}
	err := s.writeShard(g, e, v, data)
	if err != nil {
		s.ctr.repairFailures.Add(1)
		s.log.Warn("shard repair failed", "key", showKey(key), "segment", e.Segment, "offset", e.Offset,
			"volume", v, "path", s.vols[v].path, "was", why, "err", err)
		return
	}
	s.ctr.repairs.Add(1)
	s.log.Info("shard repaired", "key", showKey(key), "segment", e.Segment, "offset", e.Offset,
		"volume", v, "path", s.vols[v].path, "was", why)
}

func (s *Store) writeShard(g *segment, e *entry, v int, data []byte) error {
	if !s.usable(v) {
		return fmt.Errorf("volume %d is offline", v)
	}
	err := s.volIO(v, func() error { return s.writeShardNow(g, e, v, data) })
	if err != nil && !errors.Is(err, errIOTimeout) {
		s.setOffline(v, "shard rewrite failed: "+err.Error())
	}
	return err
}

func (s *Store) writeShardNow(g *segment, e *entry, v int, data []byte) error {
	f, err := g.file(v, true)
	if err != nil {
		return err
	}
	var hb [headerSize]byte
	h := shardHeader{Shard: uint8(v), K: uint8(s.codec.k), M: uint8(s.codec.m), Segment: g.id, Offset: e.Offset,
		Seq: e.Seq, PayloadLen: e.PayloadLen, ShardLen: e.ShardLen, DataCRC: e.CRCs[v]}
	h.encode(hb[:])
	if _, err := f.WriteAt(hb[:], e.Offset); err != nil {
		return err
	}
	if _, err := f.WriteAt(data, e.Offset+headerSize); err != nil {
		return err
	}
	return f.SyncData()
}
