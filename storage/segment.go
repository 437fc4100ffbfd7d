package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Segments are append-only files named by a 64-bit id, one file of that name
// per volume, all with the same length. The active segment receives new
// records; sealed ones are only read, repaired in place and, once mostly
// dead, compacted and unlinked.

const segmentExt = ".zseg"

func segmentName(id uint64) string { return fmt.Sprintf("%016x%s", id, segmentExt) }

func parseSegmentName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	id, err := strconv.ParseUint(hex, 16, 64)
	return id, err == nil
}

type volume struct {
	index  int
	path   string
	segDir string
	fs     fsys
}

func (v *volume) segPath(id uint64) string { return filepath.Join(v.segDir, segmentName(id)) }

// segment is one segment across all volumes.
type segment struct {
	id   uint64
	vols []volume
	open *atomic.Int64 // the table's count of segments with open files

	mu    sync.Mutex
	files []file // per volume, opened lazily; nil when not open
	// prealloc is, per volume, the end of the space reserved ahead of the
	// writes; owned by the goroutine writing that volume.
	prealloc []int64
	nopen    int  // non-nil entries in files
	deleted  bool // set (under mu) before compaction unlinks the files

	// Guarded by segTable.mu.
	refs      int
	size      int64 // bytes per volume (end of the last record written)
	live      int64 // bytes per volume of records the index points to
	liveCount int
	tomb      int64 // bytes per volume of tombstones the index keeps
	tombCount int
	sealed    bool
	broken    bool  // a write failed; no more records go here
	brokenErr error // why, once a group failed its write quorum here
}

// file returns the open file of volume v. With create, a missing file is
// created (for repairs and for the active segment); without it a missing file
// yields an error wrapping fs.ErrNotExist.
func (g *segment) file(v int, create bool) (file, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.files[v]; f != nil {
		return f, nil
	}
	if g.deleted {
		return nil, fmt.Errorf("segment %d was compacted away: %w", g.id, fs.ErrNotExist)
	}
	vol := &g.vols[v]
	path := vol.segPath(g.id)
	f, err := vol.fs.OpenFile(path, false)
	if errors.Is(err, fs.ErrNotExist) && create {
		f, err = vol.fs.OpenFile(path, true)
		if err == nil {
			err = vol.fs.SyncDir(vol.segDir)
			if err != nil {
				f.Close()
				f = nil
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if g.nopen == 0 {
		g.open.Add(1)
	}
	g.nopen++
	g.files[v] = f
	return f, nil
}

// closeFiles closes every open file of the segment.
func (g *segment) closeFiles() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, f := range g.files {
		if f != nil {
			f.Close()
			g.files[i] = nil
		}
	}
	if g.nopen > 0 {
		g.open.Add(-1)
	}
	g.nopen = 0
}

// maxOpenSegments bounds the segments whose files stay open between reads
// (each holds one descriptor per volume). Past it, idle sealed segments
// are closed and reopened on their next read.
var maxOpenSegments int64 = 512

// segTable tracks every segment and which one is active.
type segTable struct {
	mu     sync.Mutex
	segs   map[uint64]*segment
	active *segment
	nextID uint64
	vols   []volume
	open   atomic.Int64
}

func (t *segTable) newSegment(id uint64) *segment {
	return &segment{id: id, vols: t.vols, files: make([]file, len(t.vols)), prealloc: make([]int64, len(t.vols)), open: &t.open}
}

// acquire returns the segment with a reference held, or nil if it no longer
// exists (compacted away). Call release when done.
func (t *segTable) acquire(id uint64) *segment {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.segs[id]
	if g == nil {
		return nil
	}
	if t.open.Load() > maxOpenSegments {
		t.sweepLocked(g)
	}
	g.refs++
	return g
}

// sweepLocked closes the files of idle sealed segments (other than keep)
// until half the limit is open.
func (t *segTable) sweepLocked(keep *segment) {
	for _, g := range t.segs {
		if t.open.Load() <= maxOpenSegments/2 {
			return
		}
		if g != keep && g != t.active && g.refs == 0 {
			g.closeFiles()
		}
	}
}

func (t *segTable) release(g *segment) {
	t.mu.Lock()
	g.refs--
	last := g.refs == 0 && t.segs[g.id] != g
	t.mu.Unlock()
	if last {
		g.closeFiles()
	}
}

// remove takes a segment out of the table; its files close when the last
// reader releases it.
func (t *segTable) remove(g *segment) {
	g.mu.Lock()
	g.deleted = true
	g.mu.Unlock()
	t.mu.Lock()
	delete(t.segs, g.id)
	idle := g.refs == 0
	t.mu.Unlock()
	if idle {
		g.closeFiles()
	}
}

// sortedIDs returns the ids of all segments in ascending order.
func (t *segTable) sortedIDs() []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]uint64, 0, len(t.segs))
	for id := range t.segs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// discover loads the segments present on any volume, with sizes (the
// largest copy: a crash may leave volumes with different tails).
func (t *segTable) discover(usable func(int) bool) error {
	t.segs = map[uint64]*segment{}
	for _, v := range t.vols {
		if !usable(v.index) {
			continue
		}
		names, err := v.fs.List(v.segDir)
		if err != nil {
			return fmt.Errorf("storage: volume %d (%s): listing segments: %w", v.index, v.path, err)
		}
		for _, name := range names {
			id, ok := parseSegmentName(name)
			if !ok {
				continue
			}
			info, err := v.fs.Stat(v.segPath(id))
			if err != nil {
				continue
			}
			g := t.segs[id]
			if g == nil {
				g = t.newSegment(id)
				g.sealed = true
				t.segs[id] = g
			}
			g.size = max(g.size, info.Size())
			t.nextID = max(t.nextID, id+1)
		}
	}
	return nil
}

func (t *segTable) closeAll() {
	t.mu.Lock()
	segs := make([]*segment, 0, len(t.segs))
	for _, g := range t.segs {
		segs = append(segs, g)
	}
	t.mu.Unlock()
	for _, g := range segs {
		g.closeFiles()
	}
}

// statDelta accumulates live-byte changes per segment while a batch of
// records is applied, to be folded into the table once the index commit
// succeeded.
type statDelta map[uint64]struct{ bytes, count, tombBytes, tombCount int64 }

func (d statDelta) add(seg uint64, bytes int64, count int64) {
	x := d[seg]
	x.bytes += bytes
	x.count += count
	d[seg] = x
}

func (d statDelta) addTomb(seg uint64, bytes int64, count int64) {
	x := d[seg]
	x.tombBytes += bytes
	x.tombCount += count
	d[seg] = x
}

func (t *segTable) apply(d statDelta) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, x := range d {
		if g := t.segs[id]; g != nil {
			g.live += x.bytes
			g.liveCount += int(x.count)
			g.tomb += x.tombBytes
			g.tombCount += int(x.tombCount)
		}
	}
}
