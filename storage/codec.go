package storage

import (
	"fmt"
	"math/bits"
	"runtime"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// codec turns record payloads into shards and back. The Reed–Solomon work is
// klauspost/reedsolomon's; this file only decides the layout (its Split
// layout, without Split's copy of the leading full shards) and checksums.
type codec struct {
	k, m int
	rs   reedsolomon.Encoder // nil when m == 0
}

func newCodec(k, m int) (*codec, error) {
	c := &codec{k: k, m: m}
	if m > 0 {
		rs, err := reedsolomon.New(k, m, reedsolomon.WithMaxGoroutines(max(1, runtime.GOMAXPROCS(0))))
		if err != nil {
			return nil, fmt.Errorf("storage: reedsolomon.New(%d, %d): %w", k, m, err)
		}
		c.rs = rs
	}
	return c, nil
}

func (c *codec) n() int { return c.k + c.m }

// encoded is a record ready to be written: n shards (each a list of pieces
// written back to back), their checksums, and the pooled buffers to return
// once written.
type encoded struct {
	tr         trailer
	key        []byte // aliases the caller's key until the write completes
	value      []byte // aliases the caller's value until the write completes
	payloadLen int
	shardLen   int
	shards     [][][]byte
	crcs       []uint32
	pooled     []*[]byte

	// assigned by the committer
	seq    uint64
	seg    uint64
	off    int64
	inline bool
}

// size is the bytes this record takes on each volume.
func (r *encoded) size() int64 { return headerSize + int64(r.shardLen) }

func (r *encoded) release() {
	for _, b := range r.pooled {
		putBuf(b)
	}
	r.pooled = nil
	r.shards = nil
}

// parallelCRCMin: shards at least this large get their checksums computed
// on separate goroutines.
const parallelCRCMin = 1 << 20

// encode lays out payload = value ‖ key ‖ trailer into shards. The value is
// not copied where a data shard falls wholly inside it; the caller must not
// modify key or value until the record is written.
func (c *codec) encode(tr trailer, key, value []byte) *encoded {
	r := &encoded{tr: tr, key: key, value: value}
	r.payloadLen = len(value) + len(key) + trailerSize
	var tb [trailerSize]byte
	tr.encode(tb[:])

	if c.k == 1 && c.m == 0 {
		// One volume: the shard is the payload, written as three pieces.
		r.shardLen = r.payloadLen
		tail := getBuf(len(key) + trailerSize)
		copy(*tail, key)
		copy((*tail)[len(key):], tb[:])
		r.pooled = append(r.pooled, tail)
		r.shards = [][][]byte{{value, *tail}}
		r.crcs = []uint32{crcUpdate(crc(value), *tail)}
		return r
	}

	S := int(shardLenFor(r.payloadLen, c.k))
	r.shardLen = S
	full := len(value) / S // data shards that lie wholly inside value
	if full > c.k {
		full = c.k
	}
	data := make([][]byte, c.n())
	for i := 0; i < full; i++ {
		data[i] = value[i*S : (i+1)*S : (i+1)*S]
	}
	// The rest of the payload (end of value, key, trailer) plus zero padding.
	tailBuf := getBuf((c.k - full) * S)
	tail := *tailBuf
	p := copy(tail, value[full*S:])
	p += copy(tail[p:], key)
	p += copy(tail[p:], tb[:])
	clear(tail[p:])
	for i := full; i < c.k; i++ {
		data[i] = tail[(i-full)*S : (i-full+1)*S : (i-full+1)*S]
	}
	parBuf := getBuf(c.m * S)
	for j := 0; j < c.m; j++ {
		data[c.k+j] = (*parBuf)[j*S : (j+1)*S : (j+1)*S]
	}
	r.pooled = append(r.pooled, tailBuf, parBuf)
	if err := c.rs.Encode(data); err != nil {
		// Shards are equal-sized and non-empty by construction.
		panic(fmt.Sprintf("storage: reedsolomon encode of %d×%d bytes: %v", c.n(), S, err))
	}
	r.shards = make([][][]byte, c.n())
	for i := range data {
		r.shards[i] = [][]byte{data[i]}
	}
	r.crcs = shardCRCs(data)
	return r
}

// shardCRCs checksums shards, in parallel when they are large.
func shardCRCs(shards [][]byte) []uint32 {
	out := make([]uint32, len(shards))
	if len(shards) == 0 || len(shards[0]) < parallelCRCMin {
		for i, s := range shards {
			out[i] = crc(s)
		}
		return out
	}
	var wg sync.WaitGroup
	for i, s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = crc(s)
		}()
	}
	wg.Wait()
	return out
}

// --- buffer pool ------------------------------------------------------------

// Buffers come in power-of-two classes from 4 KiB to 1 GiB so that tails and
// parity of a steady stream of same-sized values reuse memory instead of
// allocating tens of MiB per write.
const (
	minClass = 12
	maxClass = 30
)

var bufPools [maxClass + 1]sync.Pool

func sizeClass(n int) int {
	if n <= 1<<minClass {
		return minClass
	}
	return bits.Len(uint(n - 1))
}

// getBuf returns a buffer of length n; its contents are arbitrary.
func getBuf(n int) *[]byte {
	c := sizeClass(n)
	if c > maxClass {
		b := make([]byte, n)
		return &b
	}
	if v := bufPools[c].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<c)
	return &b
}

func putBuf(b *[]byte) {
	c := sizeClass(cap(*b))
	if c > maxClass || cap(*b) != 1<<c {
		return
	}
	bufPools[c].Put(b)
}
