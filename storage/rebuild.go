package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
)

// RebuildReport is what RebuildIndex did.
type RebuildReport struct {
	MovedAside string            `json:"moved_aside,omitempty"` // where the old metadata directory went
	Segments   int               `json:"segments"`
	Records    int               `json:"records"` // intact records read
	Keys       int               `json:"keys"`    // keys in the rebuilt index
	Damaged    []*DroppedRecords `json:"damaged,omitempty"`
}

// RebuildIndex rebuilds the metadata database (the index) from the
// volumes alone, for when it is lost or damaged: the old directory is moved
// aside (never deleted), the volume manifests give the store's identity,
// and every segment is read in log order. Each put carries its version (its
// seq), each compaction move the version it carries, and each delete the
// versions it removes, so the newest surviving state of every key wins
// whatever order compaction left the records in; tombstones are kept in the
// log until the puts they delete are compacted away, so deleted keys stay
// deleted. Damaged stretches are skipped and reported, and batches they
// break are not applied. All volumes must be present. Run a scrub after.
func RebuildIndex(cfg Config, opts ...Option) (*RebuildReport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	s := &Store{cfg: cfg, opts: o, log: o.logger.With("component", "storage")}
	s.fs = osFS{}
	popts := &pebble.Options{Logger: pebbleLogger{s.log}}
	if o.fs != nil {
		s.fs = vfsFS{o.fs}
		popts.FS = o.fs
	}
	if o.wrapFS != nil {
		s.fs = o.wrapFS(s.fs)
	}
	for range len(cfg.Volumes.Paths) + 1 {
		s.health = append(s.health, &volHealth{})
	}
	rep := &RebuildReport{}

	// The store's identity, from the volume manifests.
	var sm storeManifest
	for i, p := range cfg.Volumes.Paths {
		vm, ok, err := readVolumeManifest(s.fs, i, p)
		if err != nil {
			return rep, err
		}
		if !ok {
			return rep, &VolumeError{Index: i, Path: p, Reason: ErrVolumeMissing,
				Detail: "has no " + volumeManifestName + "; rebuilding the index needs every volume (mount it, or restore its manifest)"}
		}
		if i == 0 {
			sm = storeManifest{Format: storeFormat, Store: vm.Store, K: vm.K, M: vm.M, Created: vm.Created}
		}
		if vm.Store != sm.Store || vm.Index != i || vm.Volumes != len(cfg.Volumes.Paths) || vm.K != sm.K || vm.M != sm.M {
			return rep, &VolumeError{Index: i, Path: p, Reason: ErrVolumeMismatch,
				Detail: fmt.Sprintf("holds volume %d of %d of store %s (k=%d m=%d), which does not fit volume 0's store %s (k=%d m=%d); list the store's volumes in their original order",
					vm.Index, vm.Volumes, vm.Store, vm.K, vm.M, sm.Store, sm.K, sm.M)}
		}
		sm.Volumes = append(sm.Volumes, volumeEntry{ID: vm.Volume, Path: p})
		s.vols = append(s.vols, volume{index: i, path: p, segDir: filepath.Join(p, segmentsDirName), fs: s.fs})
	}
	s.man = sm
	var err error
	if s.codec, err = newCodec(sm.K, sm.M); err != nil {
		return rep, err
	}

	// Move the old index aside.
	if names, err := s.fs.List(cfg.Dir); err == nil && len(names) > 0 {
		aside := fmt.Sprintf("%s.before-rebuild-%d", cfg.Dir, o.now().Unix())
		if err := s.fs.Rename(cfg.Dir, aside); err != nil {
			return rep, fmt.Errorf("storage: moving the old metadata directory aside: %w", err)
		}
		rep.MovedAside = aside
	}
	if err := s.fs.MkdirAll(cfg.Dir); err != nil {
		return rep, fmt.Errorf("storage: creating metadata directory %s: %w", cfg.Dir, err)
	}
	db, err := pebble.Open(cfg.Dir, popts)
	if err != nil {
		return rep, fmt.Errorf("storage: creating the metadata database in %s: %w", cfg.Dir, err)
	}
	s.db = db
	defer s.closeParts()

	s.segs.vols = s.vols
	if err := s.segs.discover(s.usable); err != nil {
		return rep, err
	}
	b := db.NewIndexedBatch()
	defer func() { b.Close() }()
	delta := statDelta{}
	tombs := map[string]uint64{} // key → versions below this are deleted
	var maxSeq uint64
	for _, id := range s.segs.sortedIDs() {
		g := s.segs.segs[id]
		rep.Segments++
		var pending []logged
		skipping := false
		for off := int64(0); ; {
			rec, next, faults, ok := s.scanRecord(g, off, false)
			if !ok {
				q, found := s.nextValidRecord(g, off)
				if !found {
					break
				}
				rep.Damaged = append(rep.Damaged, &DroppedRecords{Segment: id, Offset: off, End: q, Err: s.corruptRecord(g, off, q, faults)})
				pending, skipping, off = pending[:0], true, q
				continue
			}
			rep.Records++
			maxSeq = max(maxSeq, rec.seq)
			off = next
			if skipping && rec.tr.Flags&flagBatchStart != 0 {
				skipping = false
			}
			if skipping {
				skipping = rec.tr.Flags&flagBatchEnd == 0
				continue
			}
			pending = append(pending, rec)
			if rec.tr.Flags&flagBatchEnd == 0 {
				continue
			}
			for _, r := range pending {
				if err := s.rebuildApply(b, r, tombs, delta); err != nil {
					return rep, fmt.Errorf("storage: rebuilding from segment %d: %w", id, err)
				}
			}
			pending = pending[:0]
			if b.Len() > 32<<20 {
				if err := b.Commit(pebble.NoSync); err != nil {
					return rep, fmt.Errorf("storage: rebuild: %w", err)
				}
				b.Close()
				b = db.NewIndexedBatch()
			}
		}
	}
	mb, _ := json.Marshal(sm)
	b.Set(metaManifest, mb, nil)
	b.Set(metaCheckpoint, checkpoint{Segment: s.segs.nextID, NextSeq: maxSeq + 1}.encode(), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return rep, fmt.Errorf("storage: rebuild: %w", err)
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{pfxKey}, UpperBound: []byte{pfxKey + 1}})
	if err != nil {
		return rep, err
	}
	for ok := it.First(); ok; ok = it.Next() {
		rep.Keys++
	}
	if err := it.Close(); err != nil {
		return rep, err
	}
	s.log.Warn("index rebuilt from the volumes", "segments", rep.Segments, "records", rep.Records, "keys", rep.Keys,
		"damaged", len(rep.Damaged), "old_index", rep.MovedAside)
	return rep, nil
}

// rebuildApply applies one record to an index being rebuilt from the log,
// by versions rather than by the order records sit in the log: a put or a
// move takes effect unless the key holds a newer version or a delete
// removed its version.
func (s *Store) rebuildApply(b *pebble.Batch, r logged, tombs map[string]uint64, d statDelta) error {
	cur, exists, err := getEntry(b, r.key)
	if err != nil {
		return err
	}
	k := string(r.key)
	switch r.tr.Op {
	case opPut, opMove:
		ver := r.seq
		if r.tr.Op == opMove {
			if r.tr.Flags&flagMoveVersion == 0 {
				_, err := s.applyRecord(b, r, d) // an old move: only its runtime condition is known
				return err
			}
			ver = r.tr.CondA
		}
		if ver < tombs[k] || exists && cur.Version > ver || exists && r.tr.Op == opPut && cur.Version == ver {
			return nil
		}
		if exists {
			unlink(b, r.key, &cur, d)
		}
		e := entry{Version: ver, Time: r.tr.Time, Epoch: r.tr.Epoch, HasEpoch: r.tr.Flags&flagHasEpoch != 0,
			ValueLen: r.tr.ValueLen, KeyLen: r.tr.KeyLen}
		setValue(&e, r, s.cfg.Log.InlineMax)
		link(b, r.key, &e, d)
		return nil
	case opDelete, opDeleteIf:
		t := tomb{Op: r.tr.Op, Version: r.seq, Origin: r.seg, Key: r.key}
		if r.tr.Flags&flagCarried != 0 || r.tr.Op == opDeleteIf {
			t.Version = r.tr.CondA
		}
		if r.tr.Flags&flagCarried != 0 {
			t.Origin = r.tr.CondB
		}
		below := t.Version
		if r.tr.Op == opDeleteIf {
			below = t.Version + 1
		}
		if exists && (r.tr.Op == opDelete && cur.Version < t.Version || r.tr.Op == opDeleteIf && cur.Version == t.Version) {
			unlink(b, r.key, &cur, d)
			b.Delete(indexKey(r.key), nil)
		}
		tombs[k] = max(tombs[k], below)
		b.Set(tombKey(r.seg, r.off), t.encode(), nil)
		return nil
	}
	return errors.New("storage: unknown log op")
}
