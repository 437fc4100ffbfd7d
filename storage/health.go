package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Volume health and degraded mode.
//
// Each volume is online, offline or healing. A volume that fails an I/O
// (an error, or no answer within Config.Volumes.IOTimeout: a hung disk) is
// marked offline; it is then neither read nor written, and probed every
// RetryInterval. Writes go on while at most m volumes are offline or
// healing — a write is acknowledged once k volumes (the data shards' worth)
// hold it, the write quorum. The first group a volume misses records, in the
// metadata database, the log position from which its shards are missing
// (its heal mark). A volume that answers a probe again, or a replaced one,
// turns healing: it takes writes and reads again while a paced heal pass
// rebuilds its shards from the heal mark on, advancing the mark as it goes
// (so a restart resumes it); until the pass ends it still counts as
// missing, so a second failure meanwhile stops writes instead of silently
// exceeding m. State changes that decide which volumes a group writes are
// made by the committer between groups.

type volState int32

const (
	volOnline volState = iota
	volOffline
	volHealing
)

func (v volState) String() string {
	switch v {
	case volOnline:
		return "online"
	case volOffline:
		return "offline"
	}
	return "healing"
}

// volHealth is one volume's state.
type volHealth struct {
	state   atomic.Int32 // volState
	stuck   atomic.Int32 // calls past their deadline that have not returned (a hung disk)
	healing atomic.Bool  // a heal pass runs

	mu     sync.Mutex
	retry  string // why the last probe of an offline volume failed
	reason string
	since  time.Time
	mark   *LogPosition // where its missing shards begin; nil when none are
}

func (h *volHealth) get() volState { return volState(h.state.Load()) }

// VolumeStatus describes one volume for Health and for errors.
type VolumeStatus struct {
	Index    int          `json:"index"`
	Path     string       `json:"path"`
	State    string       `json:"state"` // "online", "offline" or "healing"
	Reason   string       `json:"reason,omitempty"`
	Retry    string       `json:"last_retry,omitempty"` // why the last probe failed, while offline
	Since    time.Time    `json:"since,omitzero"`
	HealFrom *LogPosition `json:"heal_from,omitempty"` // where its missing shards begin
}

// Health is the store's degraded-mode state.
type Health struct {
	Volumes  []VolumeStatus `json:"volumes"`
	Missing  int            `json:"missing"` // offline or healing volumes
	Parity   int            `json:"parity"`  // how many may be missing while writes go on
	ReadOnly string         `json:"read_only,omitempty"`
}

// Health reports each volume's state and whether the store is read-only.
func (s *Store) Health() Health {
	h := Health{Parity: s.codec.m}
	for v := range s.vols {
		st := s.volStatus(v)
		if st.State != "online" {
			h.Missing++
		}
		h.Volumes = append(h.Volumes, st)
	}
	if p := s.readOnly.Load(); p != nil {
		h.ReadOnly = *p
	}
	return h
}

func (s *Store) volStatus(v int) VolumeStatus {
	h := s.health[v]
	h.mu.Lock()
	defer h.mu.Unlock()
	st := VolumeStatus{Index: v, Path: s.vols[v].path, State: h.get().String(), Reason: h.reason, Since: h.since}
	if h.get() == volOffline {
		st.Retry = h.retry
	}
	if h.mark != nil {
		m := *h.mark
		st.HealFrom = &m
	}
	return st
}

// usable reports whether volume v is read and written (online or healing,
// and not stuck in an earlier call).
func (s *Store) usable(v int) bool {
	h := s.health[v]
	return h.get() != volOffline && h.stuck.Load() == 0
}

// missing counts the volumes that are offline or healing.
func (s *Store) missing() int {
	n := 0
	for _, h := range s.health[:len(s.vols)] {
		if h.get() != volOnline {
			n++
		}
	}
	return n
}

// setOffline marks volume v offline because of err.
func (s *Store) setOffline(v int, why string) {
	if v >= len(s.vols) {
		s.log.Error("the metadata directory does not answer", "dir", s.cfg.Dir, "reason", why)
		return
	}
	h := s.health[v]
	h.mu.Lock()
	prev := h.get()
	if prev == volOffline {
		h.mu.Unlock()
		return
	}
	h.state.Store(int32(volOffline))
	h.reason, h.since, h.retry = why, s.opts.now(), ""
	h.mu.Unlock()
	s.ctr.volumeFailures.Add(1)
	s.log.Error("volume offline; writes go on without it while at most parity volumes are missing, and it is retried",
		"volume", v, "path", s.vols[v].path, "was", prev.String(), "reason", why,
		"missing", s.missing(), "parity", s.codec.m, "retry_every", s.retryInterval())
}

func (s *Store) retryInterval() time.Duration {
	if d := s.cfg.Volumes.RetryInterval; d > 0 {
		return d
	}
	return 5 * time.Second
}

// errIOTimeout: a volume did not answer within Config.Volumes.IOTimeout.
var errIOTimeout = errors.New("no answer within the I/O deadline (storage.volumes.io_timeout); the disk may be hung")

// volIO runs f, an I/O call on volume v, under the I/O deadline. On a
// timeout f keeps running on its own goroutine (a hung call cannot be
// cancelled): f must not touch memory the caller reuses. The volume counts
// as stuck until f returns.
func (s *Store) volIO(v int, f func() error) error {
	d := s.cfg.Volumes.IOTimeout
	if d <= 0 {
		return f()
	}
	c := s.startIO(v, f)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-c.done:
		return err
	case <-t.C:
		c.abandon()
		return errIOTimeout
	}
}

// ioCall is one I/O call on its own goroutine.
type ioCall struct {
	s    *Store
	v    int
	done chan error
	mu   sync.Mutex
	left bool // abandoned by its caller: it counts as stuck until it returns
	ret  bool
}

func (s *Store) startIO(v int, f func() error) *ioCall {
	c := newIOCall(s, v)
	go func() { c.finish(f()) }()
	return c
}

func newIOCall(s *Store, v int) *ioCall { return &ioCall{s: s, v: v, done: make(chan error, 1)} }

// finish reports the call's outcome.
func (c *ioCall) finish(err error) {
	c.mu.Lock()
	c.ret = true
	if c.left {
		c.s.health[c.v].stuck.Add(-1)
	}
	c.mu.Unlock()
	c.done <- err
}

// abandon gives up on the call after its deadline and marks the volume
// offline; the volume counts as stuck until the call returns.
func (c *ioCall) abandon() {
	c.mu.Lock()
	if !c.ret && !c.left {
		c.left = true
		c.s.health[c.v].stuck.Add(1)
	}
	c.mu.Unlock()
	c.s.setOffline(c.v, errIOTimeout.Error())
}

// QuorumError: a write was refused because more than m volumes are offline
// or healing. It wraps ErrTooFewVolumes.
type QuorumError struct {
	Missing []VolumeStatus // the offline and healing volumes
	Parity  int            // m
	Shards  int            // n
}

func (e *QuorumError) Error() string {
	var parts []string
	for _, v := range e.Missing {
		p := fmt.Sprintf("volume %d (%s) %s", v.Index, v.Path, v.State)
		if v.Reason != "" {
			p += ": " + v.Reason
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("storage: write refused: %d of %d volumes are offline or healing and the parity covers %d [%s]; this write was not acknowledged and every acknowledged one is kept; reads go on; bring the volumes back (offline ones are retried, healing ones finish by themselves)",
		len(e.Missing), e.Shards, e.Parity, strings.Join(parts, "; "))
}

func (e *QuorumError) Unwrap() error { return ErrTooFewVolumes }

func (s *Store) quorumError() error {
	e := &QuorumError{Parity: s.codec.m, Shards: s.codec.n()}
	for v := range s.vols {
		if st := s.volStatus(v); st.State != "online" {
			e.Missing = append(e.Missing, st)
		}
	}
	return e
}

// --- heal marks in the metadata database -------------------------------------

func healKey(v int) []byte { return append([]byte("mheal/"), byte(v)) }

func encodePos(p LogPosition) []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint64(b[0:], p.Segment)
	binary.LittleEndian.PutUint64(b[8:], uint64(p.Offset))
	binary.LittleEndian.PutUint32(b[16:], crc(b[:16]))
	return b
}

func decodePos(b []byte) (LogPosition, error) {
	if len(b) != 20 || binary.LittleEndian.Uint32(b[16:]) != crc(b[:16]) || int64(binary.LittleEndian.Uint64(b[8:])) < 0 {
		return LogPosition{}, fmt.Errorf("heal mark is damaged")
	}
	return LogPosition{Segment: binary.LittleEndian.Uint64(b[0:]), Offset: int64(binary.LittleEndian.Uint64(b[8:]))}, nil
}

func (p LogPosition) before(q LogPosition) bool {
	return p.Segment < q.Segment || p.Segment == q.Segment && p.Offset < q.Offset
}

// markMissing records, through b, that volume v misses shards from p on
// (keeping an earlier mark). The caller is the committer or recovery.
func (s *Store) markMissing(b *pebble.Batch, v int, p LogPosition) {
	h := s.health[v]
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mark != nil && !p.before(*h.mark) {
		return
	}
	h.mark = &p
	b.Set(healKey(v), encodePos(p), nil)
}

// loadHealMarks reads the persisted heal marks at Open.
func (s *Store) loadHealMarks() error {
	for v := range s.vols {
		b, closer, err := s.db.Get(healKey(v))
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("storage: reading heal marks: %w", err)
		}
		p, derr := decodePos(b)
		closer.Close()
		if derr != nil {
			return fmt.Errorf("%w: volume %d: %v", ErrCorrupt, v, derr)
		}
		s.health[v].mark = &p
	}
	return nil
}

// --- the health loop: free space, probes, healing ------------------------------

// ctl asks the committer to run f between groups (with the next group's
// index batch) and waits for it.
func (s *Store) ctl(ctx context.Context, f func(b *pebble.Batch)) error {
	return s.submit(ctx, &request{ctl: f})
}

func (s *Store) startHealth() {
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		t := time.NewTicker(s.retryInterval())
		defer t.Stop()
		s.checkHealth(s.bgCtx)
		for {
			select {
			case <-s.bgCtx.Done():
				return
			case <-t.C:
				s.checkHealth(s.bgCtx)
			}
		}
	}()
}

// checkHealth runs one round: the free-space watermark, probes of offline
// volumes, and heal passes for healing ones.
func (s *Store) checkHealth(ctx context.Context) {
	if s.metaRO {
		return // read-only until restarted
	}
	s.checkSpace()
	if s.readOnly.Load() != nil {
		return // heal passes write; wait for space
	}
	for v := range s.vols {
		h := s.health[v]
		switch h.get() {
		case volOffline:
			if h.stuck.Load() > 0 {
				continue // still hung in an earlier call
			}
			if err := s.volIO(v, func() error { return s.probeReturning(v) }); err != nil {
				h.mu.Lock()
				h.retry = err.Error()
				h.mu.Unlock()
				continue
			}
			if err := s.ctl(ctx, func(*pebble.Batch) {
				h.mu.Lock()
				h.state.Store(int32(volHealing))
				h.reason, h.since = "back online; rebuilding the shards it missed", s.opts.now()
				h.mu.Unlock()
			}); err != nil {
				return
			}
			s.log.Warn("volume answers again; healing it", "volume", v, "path", s.vols[v].path)
			s.startHeal(v)
		case volHealing:
			s.startHeal(v)
		}
	}
}

// probeReturning checks that an offline volume answers again and is still
// this store's volume v (a different or empty disk mounted in its place is
// not written to; adopting an empty one takes AllowReplace at Open).
func (s *Store) probeReturning(v int) error {
	p := s.vols[v].path
	if err := probeVolume(s.fs, v, p); err != nil {
		return err
	}
	vm, ok, err := readVolumeManifest(s.fs, v, p)
	if err != nil {
		return err
	}
	if !ok {
		return &VolumeError{Index: v, Path: p, Reason: ErrVolumeMissing,
			Detail: fmt.Sprintf("has no %s; if the disk failed to mount, mount it; if it was replaced by an empty disk, reopen with Volumes.AllowReplace", volumeManifestName)}
	}
	if vm.Store != s.man.Store || vm.Index != v || vm.Volume != s.man.Volumes[v].ID {
		return &VolumeError{Index: v, Path: p, Reason: ErrVolumeMismatch,
			Detail: fmt.Sprintf("now holds volume %d of store %s, not this store's volume %d; mount the right disk", vm.Index, vm.Store, v)}
	}
	return s.fs.MkdirAll(s.vols[v].segDir)
}

// checkSpace applies the free-space watermark to the metadata directory
// and the volumes that take writes.
func (s *Store) checkSpace() {
	min := s.cfg.Volumes.MinFreeBytes
	if min <= 0 {
		return
	}
	var low []string
	check := func(v int, what, dir string) {
		var free uint64
		err := s.volIO(v, func() error {
			var err error
			free, err = s.fs.Avail(dir)
			return err
		})
		if err == nil && free < uint64(min) {
			low = append(low, fmt.Sprintf("%s %s has %d bytes free", what, dir, free))
		}
	}
	check(s.metaVol(), "the metadata directory", s.cfg.Dir)
	for v := range s.vols {
		if s.usable(v) {
			check(v, fmt.Sprintf("volume %d", v), s.vols[v].path)
		}
	}
	if len(low) == 0 {
		if p := s.readOnly.Swap(nil); p != nil {
			s.log.Warn("free space is back above the watermark; writes resume", "was", *p)
		}
		return
	}
	msg := fmt.Sprintf("%s, below storage.volumes.min_free_bytes (%d); free space or add capacity, writes resume by themselves",
		strings.Join(low, ", "), min)
	if p := s.readOnly.Swap(&msg); p == nil || *p != msg {
		s.log.Error("store is read-only: disk space below the watermark", "detail", msg)
	}
}

// metaVol is the health slot used for I/O on the metadata directory: the
// last one, which no volume uses.
func (s *Store) metaVol() int { return len(s.vols) }
