package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On-disk formats. All integers are little-endian.
//
// A record is one logged operation (put, delete, move, conditional delete).
// Its payload is
//
//	value ‖ key ‖ trailer (trailerSize bytes)
//
// — the value first, so that with erasure coding the leading data shards are
// plain sub-slices of the caller's value and need no copy. The payload is
// split into k data shards of shardLen = ceil(len(payload)/k) bytes, the last
// zero-padded (exactly klauspost/reedsolomon's Split), and m parity shards
// are computed. Shard i lives on volume i, in the same segment file name and
// at the same offset on every volume:
//
//	shard header (headerSize bytes) ‖ shard data (shardLen bytes)
//
// so the next record starts at offset + headerSize + shardLen on every
// volume. With one volume k = 1, m = 0 and the single shard is the payload.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func crcUpdate(c uint32, b []byte) uint32 { return crc32.Update(c, castagnoli, b) }

// --- shard header ---------------------------------------------------------

const (
	headerSize    = 48
	headerVersion = 1
)

var shardMagic = [4]byte{'Z', 'G', 'S', 'H'}

// shardHeader precedes every shard on disk.
type shardHeader struct {
	Shard      uint8  // index of this shard, = volume index
	K, M       uint8  // data and parity shard counts of the store
	Segment    uint64 // segment id (guards against misplaced bytes)
	Offset     int64  // record offset in the segment (same on all volumes)
	Seq        uint64 // log sequence number of the record
	PayloadLen uint32 // payload bytes before padding
	ShardLen   uint32 // bytes of shard data that follow the header
	DataCRC    uint32 // CRC-32C of the shard data
}

func (h *shardHeader) encode(b []byte) {
	_ = b[headerSize-1]
	copy(b[0:4], shardMagic[:])
	b[4] = headerVersion
	b[5] = h.Shard
	b[6] = h.K
	b[7] = h.M
	binary.LittleEndian.PutUint64(b[8:], h.Segment)
	binary.LittleEndian.PutUint64(b[16:], uint64(h.Offset))
	binary.LittleEndian.PutUint64(b[24:], h.Seq)
	binary.LittleEndian.PutUint32(b[32:], h.PayloadLen)
	binary.LittleEndian.PutUint32(b[36:], h.ShardLen)
	binary.LittleEndian.PutUint32(b[40:], h.DataCRC)
	binary.LittleEndian.PutUint32(b[44:], crc(b[:44]))
}

var (
	errShortHeader = errors.New("short header")
	errBadMagic    = errors.New("bad magic")
	errHeaderCRC   = errors.New("header checksum mismatch")
)

// decodeShardHeader parses and checks a header's own integrity (magic,
// version, checksum, length sanity). It does not check where it was found.
func decodeShardHeader(b []byte) (shardHeader, error) {
	var h shardHeader
	if len(b) < headerSize {
		return h, errShortHeader
	}
	if [4]byte(b[0:4]) != shardMagic {
		return h, errBadMagic
	}
	if binary.LittleEndian.Uint32(b[44:]) != crc(b[:44]) {
		return h, errHeaderCRC
	}
	if b[4] != headerVersion {
		return h, fmt.Errorf("unknown header version %d", b[4])
	}
	h.Shard, h.K, h.M = b[5], b[6], b[7]
	h.Segment = binary.LittleEndian.Uint64(b[8:])
	h.Offset = int64(binary.LittleEndian.Uint64(b[16:]))
	h.Seq = binary.LittleEndian.Uint64(b[24:])
	h.PayloadLen = binary.LittleEndian.Uint32(b[32:])
	h.ShardLen = binary.LittleEndian.Uint32(b[36:])
	h.DataCRC = binary.LittleEndian.Uint32(b[40:])
	switch {
	case h.K == 0 || int(h.K)+int(h.M) > maxVolumes+1:
		return h, fmt.Errorf("bad shard counts k=%d m=%d", h.K, h.M)
	case int(h.Shard) >= int(h.K)+int(h.M):
		return h, fmt.Errorf("shard index %d out of range for k=%d m=%d", h.Shard, h.K, h.M)
	case h.Offset < 0:
		return h, fmt.Errorf("negative offset")
	case h.PayloadLen < trailerSize:
		return h, fmt.Errorf("payload length %d below trailer size", h.PayloadLen)
	case uint64(h.ShardLen) != shardLenFor(int(h.PayloadLen), int(h.K)):
		return h, fmt.Errorf("shard length %d does not fit payload %d over %d shards", h.ShardLen, h.PayloadLen, h.K)
	}
	return h, nil
}

// shardLenFor is klauspost's per-shard size: ceil(payload / k).
func shardLenFor(payloadLen, k int) uint64 { return uint64((payloadLen + k - 1) / k) }

// --- record trailer -------------------------------------------------------

const trailerSize = 40

type opKind uint8

const (
	opPut      opKind = 1 // set key to value
	opDelete   opKind = 2 // remove key
	opMove     opKind = 3 // compaction: if key lives at (CondA, CondB) = (segment, offset), it now lives here
	opDeleteIf opKind = 4 // pruning: remove key if its version (seq of its put) is CondA
)

const (
	flagBatchEnd   = 1 << 0 // last record of an atomic batch
	flagHasEpoch   = 1 << 1 // Epoch is meaningful
	flagBatchStart = 1 << 2 // first record of an atomic batch (logs written before this flag lack it)
	flagsSingle    = flagBatchStart | flagBatchEnd
	// flagCarried: a delete or conditional delete copied forward by
	// compaction; CondA is the version bound (for a delete, its original
	// seq: it removes versions below it), CondB its original segment.
	flagCarried = 1 << 3
	// flagMoveVersion: a move whose condition is (version CondA, segment
	// CondB) rather than (segment CondA, offset CondB), so that an index
	// rebuild knows which put it carries.
	flagMoveVersion = 1 << 4
	knownFlags      = flagBatchEnd | flagHasEpoch | flagBatchStart | flagCarried | flagMoveVersion
)

// trailer ends every record payload.
type trailer struct {
	Op       opKind
	Flags    uint8
	KeyLen   uint16
	ValueLen uint32
	Epoch    uint64
	Time     int64 // unix nanoseconds of the original write
	CondA    uint64
	CondB    uint64
}

func (t *trailer) encode(b []byte) {
	_ = b[trailerSize-1]
	b[0] = byte(t.Op)
	b[1] = t.Flags
	binary.LittleEndian.PutUint16(b[2:], t.KeyLen)
	binary.LittleEndian.PutUint32(b[4:], t.ValueLen)
	binary.LittleEndian.PutUint64(b[8:], t.Epoch)
	binary.LittleEndian.PutUint64(b[16:], uint64(t.Time))
	binary.LittleEndian.PutUint64(b[24:], t.CondA)
	binary.LittleEndian.PutUint64(b[32:], t.CondB)
}

// decodeRecord splits a payload into value, key and trailer, checking that
// the lengths add up. The returned slices alias payload.
func decodeRecord(payload []byte) (value, key []byte, t trailer, err error) {
	if len(payload) < trailerSize {
		return nil, nil, t, fmt.Errorf("payload of %d bytes is shorter than a trailer", len(payload))
	}
	b := payload[len(payload)-trailerSize:]
	t.Op = opKind(b[0])
	t.Flags = b[1]
	t.KeyLen = binary.LittleEndian.Uint16(b[2:])
	t.ValueLen = binary.LittleEndian.Uint32(b[4:])
	t.Epoch = binary.LittleEndian.Uint64(b[8:])
	t.Time = int64(binary.LittleEndian.Uint64(b[16:]))
	t.CondA = binary.LittleEndian.Uint64(b[24:])
	t.CondB = binary.LittleEndian.Uint64(b[32:])
	if t.Op < opPut || t.Op > opDeleteIf {
		return nil, nil, t, fmt.Errorf("unknown op %d", t.Op)
	}
	if t.Flags&^knownFlags != 0 {
		return nil, nil, t, fmt.Errorf("unknown flags %#x", t.Flags)
	}
	if t.KeyLen == 0 {
		return nil, nil, t, fmt.Errorf("empty key")
	}
	if (t.Op == opDelete || t.Op == opDeleteIf) && t.ValueLen != 0 {
		return nil, nil, t, fmt.Errorf("delete record carries a %d-byte value", t.ValueLen)
	}
	if uint64(t.ValueLen)+uint64(t.KeyLen)+trailerSize != uint64(len(payload)) {
		return nil, nil, t, fmt.Errorf("lengths %d+%d+%d do not add up to payload %d", t.ValueLen, t.KeyLen, trailerSize, len(payload))
	}
	value = payload[:t.ValueLen:t.ValueLen]
	key = payload[t.ValueLen : t.ValueLen+uint32(t.KeyLen) : t.ValueLen+uint32(t.KeyLen)]
	return value, key, t, nil
}

// --- index entry (Pebble value under keyPrefix+key) -----------------------

const (
	entryVersion      = 1
	entryInline       = 0 // inline, log location unknown (written before entryInlineLogged)
	entrySegment      = 1
	entryInlineLogged = 2  // inline, with its log record's location, so compaction keeps the record
	entryInlineLoc    = 28 // segment, offset, record seq, shardLen
	entryFixed        = 36 // version, kind, flags, pad, version seq, time, epoch, valueLen, keyLen+pad
	entryLoc          = 33 // segment, offset, record seq, shardLen, payloadLen, n
)

// entry is what the index knows about a live key.
type entry struct {
	Version  uint64 // seq of the put that wrote the value (kept by moves)
	Time     int64
	Epoch    uint64
	HasEpoch bool
	ValueLen uint32
	KeyLen   uint16

	Inline []byte // the value when stored inline
	// Logged: an inline value whose log record's location (Segment,
	// Offset, Seq, ShardLen) is known. That record is what an index
	// rebuilt from the log finds, so compaction moves it like any other.
	Logged bool

	// Location of a segment-resident record.
	Segment    uint64
	Offset     int64
	Seq        uint64 // seq of the record that holds the bytes (differs from Version after a move)
	ShardLen   uint32
	PayloadLen uint32
	CRCs       []uint32 // one per shard (n)
}

func (e *entry) inline() bool { return e.CRCs == nil }

// located reports whether the entry knows its log record (and is then in
// the location index).
func (e *entry) located() bool { return !e.inline() || e.Logged }

// recordSize is the bytes a segment-resident record takes on each volume.
func (e *entry) recordSize() int64 { return headerSize + int64(e.ShardLen) }

func (e *entry) encode() []byte {
	n := entryFixed
	if e.inline() {
		n += len(e.Inline)
		if e.Logged {
			n += entryInlineLoc
		}
	} else {
		n += entryLoc + 4*len(e.CRCs)
	}
	b := make([]byte, n)
	b[0] = entryVersion
	switch {
	case e.inline() && e.Logged:
		b[1] = entryInlineLogged
	case e.inline():
		b[1] = entryInline
	default:
		b[1] = entrySegment
	}
	if e.HasEpoch {
		b[2] = flagHasEpoch
	}
	binary.LittleEndian.PutUint64(b[4:], e.Version)
	binary.LittleEndian.PutUint64(b[12:], uint64(e.Time))
	binary.LittleEndian.PutUint64(b[20:], e.Epoch)
	binary.LittleEndian.PutUint32(b[28:], e.ValueLen)
	binary.LittleEndian.PutUint16(b[32:], e.KeyLen)
	p := b[entryFixed:]
	if e.inline() {
		if e.Logged {
			binary.LittleEndian.PutUint64(p[0:], e.Segment)
			binary.LittleEndian.PutUint64(p[8:], uint64(e.Offset))
			binary.LittleEndian.PutUint64(p[16:], e.Seq)
			binary.LittleEndian.PutUint32(p[24:], e.ShardLen)
			p = p[entryInlineLoc:]
		}
		copy(p, e.Inline)
		return b
	}
	binary.LittleEndian.PutUint64(p[0:], e.Segment)
	binary.LittleEndian.PutUint64(p[8:], uint64(e.Offset))
	binary.LittleEndian.PutUint64(p[16:], e.Seq)
	binary.LittleEndian.PutUint32(p[24:], e.ShardLen)
	binary.LittleEndian.PutUint32(p[28:], e.PayloadLen)
	p[32] = byte(len(e.CRCs))
	for i, c := range e.CRCs {
		binary.LittleEndian.PutUint32(p[entryLoc+4*i:], c)
	}
	return b
}

// decodeEntry parses an index entry. Inline values are copied (the input
// usually belongs to Pebble).
func decodeEntry(b []byte) (entry, error) {
	var e entry
	if len(b) < entryFixed {
		return e, fmt.Errorf("index entry of %d bytes is too short", len(b))
	}
	if b[0] != entryVersion {
		return e, fmt.Errorf("unknown index entry version %d", b[0])
	}
	if b[2]&^flagHasEpoch != 0 {
		return e, fmt.Errorf("unknown index entry flags %#x", b[2])
	}
	e.HasEpoch = b[2]&flagHasEpoch != 0
	e.Version = binary.LittleEndian.Uint64(b[4:])
	e.Time = int64(binary.LittleEndian.Uint64(b[12:]))
	e.Epoch = binary.LittleEndian.Uint64(b[20:])
	e.ValueLen = binary.LittleEndian.Uint32(b[28:])
	e.KeyLen = binary.LittleEndian.Uint16(b[32:])
	p := b[entryFixed:]
	switch b[1] {
	case entryInlineLogged:
		if len(p) < entryInlineLoc {
			return e, fmt.Errorf("inline index entry location is truncated")
		}
		e.Logged = true
		e.Segment = binary.LittleEndian.Uint64(p[0:])
		e.Offset = int64(binary.LittleEndian.Uint64(p[8:]))
		e.Seq = binary.LittleEndian.Uint64(p[16:])
		e.ShardLen = binary.LittleEndian.Uint32(p[24:])
		if e.Offset < 0 {
			return e, fmt.Errorf("index entry has a negative offset")
		}
		p = p[entryInlineLoc:]
		fallthrough
	case entryInline:
		if len(p) != int(e.ValueLen) {
			return e, fmt.Errorf("inline value is %d bytes, entry says %d", len(p), e.ValueLen)
		}
		e.Inline = append([]byte{}, p...)
		return e, nil
	case entrySegment:
	default:
		return e, fmt.Errorf("unknown index entry kind %d", b[1])
	}
	if len(p) < entryLoc {
		return e, fmt.Errorf("index entry location is truncated")
	}
	e.Segment = binary.LittleEndian.Uint64(p[0:])
	e.Offset = int64(binary.LittleEndian.Uint64(p[8:]))
	e.Seq = binary.LittleEndian.Uint64(p[16:])
	e.ShardLen = binary.LittleEndian.Uint32(p[24:])
	e.PayloadLen = binary.LittleEndian.Uint32(p[28:])
	n := int(p[32])
	if n == 0 || len(p) != entryLoc+4*n {
		return e, fmt.Errorf("index entry has %d bytes of checksums for %d shards", len(p)-entryLoc, n)
	}
	if e.Offset < 0 {
		return e, fmt.Errorf("index entry has a negative offset")
	}
	if uint64(e.ValueLen)+uint64(e.KeyLen)+trailerSize != uint64(e.PayloadLen) {
		return e, fmt.Errorf("index entry lengths %d+%d+%d do not add up to payload %d", e.ValueLen, e.KeyLen, trailerSize, e.PayloadLen)
	}
	e.CRCs = make([]uint32, n)
	for i := range e.CRCs {
		e.CRCs[i] = binary.LittleEndian.Uint32(p[entryLoc+4*i:])
	}
	return e, nil
}

// --- Pebble key space -----------------------------------------------------
//
//	'k' key                      → entry            (the index)
//	'l' segment(8) offset(8)     → key              (records living in a segment; drives compaction and scrubbing)
//	'd' segment(8) offset(8)     → tombstone        (deletes kept until the puts they delete are gone; see tombValue)
//	'e' epoch(8) key             → ∅                (epoch-tagged keys, for pruning)
//	't' time(8) key              → ∅                (write time, for pruning by age)
//	'm' name                     → metadata (manifest, checkpoint)
//
// Integers in keys are big-endian so that they sort.

const (
	pfxKey   = 'k'
	pfxLoc   = 'l'
	pfxTomb  = 'd'
	pfxEpoch = 'e'
	pfxTime  = 't'
)

var (
	metaManifest   = []byte("mmanifest")
	metaCheckpoint = []byte("mcheckpoint")
)

func indexKey(key []byte) []byte { return append([]byte{pfxKey}, key...) }

func locKey(seg uint64, off int64) []byte {
	b := make([]byte, 17)
	b[0] = pfxLoc
	binary.BigEndian.PutUint64(b[1:], seg)
	binary.BigEndian.PutUint64(b[9:], uint64(off))
	return b
}

func tombKey(seg uint64, off int64) []byte {
	b := locKey(seg, off)
	b[0] = pfxTomb
	return b
}

// tomb is a delete record the index keeps (under 'd'): a delete removes the
// versions below Version, a conditional delete exactly Version. Origin is
// the segment it was first written to: the puts it deleted lie there or in
// older segments, and it is kept while any of those exist.
type tomb struct {
	Op      opKind
	Version uint64
	Origin  uint64
	Key     []byte
}

func (t tomb) encode() []byte {
	b := make([]byte, 17+len(t.Key))
	b[0] = byte(t.Op)
	binary.LittleEndian.PutUint64(b[1:], t.Version)
	binary.LittleEndian.PutUint64(b[9:], t.Origin)
	copy(b[17:], t.Key)
	return b
}

func decodeTomb(b []byte) (tomb, error) {
	if len(b) < 18 || (opKind(b[0]) != opDelete && opKind(b[0]) != opDeleteIf) {
		return tomb{}, fmt.Errorf("malformed tombstone entry")
	}
	return tomb{Op: opKind(b[0]), Version: binary.LittleEndian.Uint64(b[1:]), Origin: binary.LittleEndian.Uint64(b[9:]),
		Key: append([]byte{}, b[17:]...)}, nil
}

func decodeLocKey(b []byte) (seg uint64, off int64, ok bool) {
	if len(b) != 17 || (b[0] != pfxLoc && b[0] != pfxTomb) {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(b[1:]), int64(binary.BigEndian.Uint64(b[9:])), true
}

func u64Key(pfx byte, v uint64, key []byte) []byte {
	b := make([]byte, 9+len(key))
	b[0] = pfx
	binary.BigEndian.PutUint64(b[1:], v)
	copy(b[9:], key)
	return b
}

func timeKey(t int64, key []byte) []byte { return u64Key(pfxTime, uint64(max(t, 0)), key) }

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil if there is none.
func prefixEnd(p []byte) []byte {
	end := append([]byte{}, p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// --- checkpoint -----------------------------------------------------------

// checkpoint: every log record before (Segment, Offset) is reflected in the
// fsync'd index; Open replays the log from there.
type checkpoint struct {
	Segment uint64
	Offset  int64
	NextSeq uint64
}

func (c checkpoint) encode() []byte {
	b := make([]byte, 28)
	binary.LittleEndian.PutUint64(b[0:], c.Segment)
	binary.LittleEndian.PutUint64(b[8:], uint64(c.Offset))
	binary.LittleEndian.PutUint64(b[16:], c.NextSeq)
	binary.LittleEndian.PutUint32(b[24:], crc(b[:24]))
	return b
}

func decodeCheckpoint(b []byte) (checkpoint, error) {
	var c checkpoint
	if len(b) != 28 || binary.LittleEndian.Uint32(b[24:]) != crc(b[:24]) {
		return c, fmt.Errorf("checkpoint record is damaged")
	}
	c.Segment = binary.LittleEndian.Uint64(b[0:])
	c.Offset = int64(binary.LittleEndian.Uint64(b[8:]))
	c.NextSeq = binary.LittleEndian.Uint64(b[16:])
	if c.Offset < 0 {
		return c, fmt.Errorf("checkpoint has a negative offset")
	}
	return c, nil
}
