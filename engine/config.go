package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/storage"
)

// Config is the disperser's configuration. Each section has Default…(),
// Test…() and ValidateBasic(); LoadConfig reads a JSON file over the
// defaults, so fields left out keep them.
type Config struct {
	API       APIConfig       `json:"api"`
	Batcher   BatcherConfig   `json:"batcher"`
	Queue     QueueConfig     `json:"queue"`
	Encoder   EncoderConfig   `json:"encoder"`
	Dispersal DispersalConfig `json:"dispersal"`
	Retrieval RetrievalConfig `json:"retrieval"`
	AltDA     AltDAConfig     `json:"altda"`
	Storage   StorageConfig   `json:"storage"`
	Retention RetentionConfig `json:"retention"`
}

// DefaultConfig runs a disperser on a laptop whose data lives under home.
func DefaultConfig(home string) Config {
	return Config{
		API:       DefaultAPIConfig(),
		Batcher:   DefaultBatcherConfig(),
		Queue:     DefaultQueueConfig(),
		Encoder:   DefaultEncoderConfig(),
		Dispersal: DefaultDispersalConfig(),
		Retrieval: DefaultRetrievalConfig(),
		AltDA:     DefaultAltDAConfig(),
		Storage:   DefaultStorageConfig(home),
		Retention: DefaultRetentionConfig(),
	}
}

// TestConfig is for tests: API on a free loopback port, short waits,
// small queues, storage with small segments under dir.
func TestConfig(dir string) Config {
	return Config{
		API:       TestAPIConfig(),
		Batcher:   TestBatcherConfig(),
		Queue:     TestQueueConfig(),
		Encoder:   TestEncoderConfig(),
		Dispersal: TestDispersalConfig(),
		Retrieval: TestRetrievalConfig(),
		AltDA:     TestAltDAConfig(),
		Storage:   TestStorageConfig(dir),
		Retention: TestRetentionConfig(),
	}
}

// ValidateBasic checks every section; the error names the section and field.
func (c *Config) ValidateBasic() error {
	for _, s := range []struct {
		name string
		err  error
	}{
		{"api", c.API.ValidateBasic()},
		{"batcher", c.Batcher.ValidateBasic()},
		{"queue", c.Queue.ValidateBasic()},
		{"encoder", c.Encoder.ValidateBasic()},
		{"dispersal", c.Dispersal.ValidateBasic()},
		{"retrieval", c.Retrieval.ValidateBasic()},
		{"altda", c.AltDA.ValidateBasic()},
		{"storage", c.Storage.ValidateBasic()},
		{"retention", c.Retention.ValidateBasic()},
	} {
		if s.err != nil {
			return fmt.Errorf("%w: %s.%v", ErrConfig, s.name, s.err)
		}
	}
	return nil
}

// LoadConfig reads a JSON configuration file over DefaultConfig(home) and
// validates it. Unknown fields are errors that name the field.
func LoadConfig(path, home string) (Config, error) {
	c := DefaultConfig(home)
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return c, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	if err := c.ValidateBasic(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// APIConfig is the HTTP server (docs/spec.md §7).
type APIConfig struct {
	// Listen is host:port; port 0 picks a free one (Engine.APIAddr says
	// which). Empty: no HTTP server (the engine is driven through its
	// methods).
	Listen string `json:"listen"`
	// MaxBodyBytes bounds a request body; bodies over it get 413 before they
	// are read. It is at most encoder.MaxBlobSize.
	MaxBodyBytes int `json:"max_body_bytes"`
	// MaxHeaderBytes bounds the request line and headers (fasthttp's read
	// buffer); larger ones get 431.
	MaxHeaderBytes int `json:"max_header_bytes"`
	// ReadTimeout bounds reading one request, body included; WriteTimeout
	// writing one response; IdleTimeout a keep-alive connection's wait.
	ReadTimeout  Duration `json:"read_timeout"`
	WriteTimeout Duration `json:"write_timeout"`
	IdleTimeout  Duration `json:"idle_timeout"`
	// MaxConcurrentRequests is how many posts (POST /v1/blobs, /put) are
	// taken in at once; the next gets 429 with Retry-After. A /put waiting
	// for its certificate no longer holds its place (AltDA.MaxWaiters).
	MaxConcurrentRequests int `json:"max_concurrent_requests"`
	// MaxConcurrentReads is how many GET requests are handled at once, apart
	// from posts, so that reads can never make a post wait or fail; the next
	// gets 429 with Retry-After.
	MaxConcurrentReads int `json:"max_concurrent_reads"`
	// MaxConnections bounds open connections; one over it is answered 429
	// (JSON, Retry-After) and closed.
	MaxConnections int `json:"max_connections"`
	// MaxBodyBytesInFlight bounds the request bodies being received at
	// once; a post that would exceed it gets 429 before its body is read.
	MaxBodyBytesInFlight int64 `json:"max_body_bytes_in_flight"`
	// RetryAfter is what 429 answers put in Retry-After (whole seconds, ≥ 1).
	RetryAfter Duration `json:"retry_after"`
}

// DefaultAPIConfig listens on 127.0.0.1:3100 (the port alt-DA servers
// commonly use) and takes blobs up to MaxBlobSize.
func DefaultAPIConfig() APIConfig {
	return APIConfig{
		Listen:                "127.0.0.1:3100",
		MaxBodyBytes:          encoder.MaxBlobSize,
		MaxHeaderBytes:        8 << 10,
		ReadTimeout:           Duration(60 * time.Second),
		WriteTimeout:          Duration(60 * time.Second),
		IdleTimeout:           Duration(120 * time.Second),
		MaxConcurrentRequests: 512,
		MaxConcurrentReads:    256,
		MaxConnections:        4096,
		MaxBodyBytesInFlight:  1 << 30,
		RetryAfter:            Duration(time.Second),
	}
}

// TestAPIConfig listens on a free loopback port.
func TestAPIConfig() APIConfig {
	c := DefaultAPIConfig()
	c.Listen = "127.0.0.1:0"
	c.ReadTimeout = Duration(10 * time.Second)
	c.WriteTimeout = Duration(10 * time.Second)
	c.IdleTimeout = Duration(10 * time.Second)
	return c
}

// ValidateBasic names a bad field.
func (c APIConfig) ValidateBasic() error {
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("listen %q: %v", c.Listen, err)
		}
	}
	switch {
	case c.MaxBodyBytes < 1 || c.MaxBodyBytes > encoder.MaxBlobSize:
		return fmt.Errorf("max_body_bytes %d: must be in [1, %d]", c.MaxBodyBytes, encoder.MaxBlobSize)
	case c.MaxHeaderBytes < 1024 || c.MaxHeaderBytes > 1<<20:
		return fmt.Errorf("max_header_bytes %d: must be in [1024, 1048576]", c.MaxHeaderBytes)
	case c.ReadTimeout <= 0:
		return fmt.Errorf("read_timeout must be positive")
	case c.WriteTimeout <= 0:
		return fmt.Errorf("write_timeout must be positive")
	case c.IdleTimeout < 0:
		return fmt.Errorf("idle_timeout must not be negative")
	case c.MaxConcurrentRequests < 1:
		return fmt.Errorf("max_concurrent_requests %d: must be at least 1", c.MaxConcurrentRequests)
	case c.MaxConcurrentReads < 1:
		return fmt.Errorf("max_concurrent_reads %d: must be at least 1", c.MaxConcurrentReads)
	case c.MaxBodyBytesInFlight < int64(c.MaxBodyBytes):
		return fmt.Errorf("max_body_bytes_in_flight %d: must be at least max_body_bytes (%d)", c.MaxBodyBytesInFlight, c.MaxBodyBytes)
	case c.MaxConnections < c.MaxConcurrentRequests:
		return fmt.Errorf("max_connections %d: must be at least max_concurrent_requests (%d)", c.MaxConnections, c.MaxConcurrentRequests)
	case c.RetryAfter < Duration(time.Second):
		return fmt.Errorf("retry_after %v: must be at least 1s (Retry-After is in whole seconds)", c.RetryAfter)
	}
	return nil
}

// BatcherConfig decides when accepted blobs become a batch (see cutRule):
// at MinRows data rows, when the next blob would pass MaxRows, when nothing
// is in intake and the encoder is idle, or MaxWait after the oldest blob was
// queued while posts are still in intake.
type BatcherConfig struct {
	// MinRows: a batch of this many data rows is cut at once. 0 takes it
	// from the chain: ceil(min_batch_slots / 4), the smallest D whose 4D
	// dispersed rows fill the batch's window (docs/spec.md §4.2).
	MinRows int `json:"min_rows"`
	// MaxRows bounds D (at most MaxBatchRows, 256); a blob of more rows
	// goes alone.
	MaxRows int `json:"max_rows"`
	// MaxWait bounds how long queued blobs wait for posts still in intake
	// that no commit call has taken yet (a running commit call is always
	// waited for: its blobs arrive when it ends).
	MaxWait Duration `json:"max_wait"`
	// Linger is how long an empty intake must stay empty before an idle
	// encoder takes what is queued: the gap between a client's 202 and its
	// next post, which would otherwise cut a steady stream into small
	// batches.
	Linger Duration `json:"linger"`
}

// DefaultBatcherConfig: D from the chain's window up to 256 rows, or 1 s
// for posts not yet being committed. Under a steady stream of one-row posts
// from 8 clients on 2 cores (about 30 rows/s) 250 ms cut batches of 7 to
// 21 rows, each replicated to the whole window (5.9 row bytes per byte
// instead of 4.1); 1 s keeps them at 32 rows or more, and the wait counts
// only while posts are in intake, so a quiet disperser still cuts a batch
// 25 ms (Linger) after its last post.
func DefaultBatcherConfig() BatcherConfig {
	return BatcherConfig{MaxRows: encoder.MaxBatchRows, MaxWait: Duration(time.Second), Linger: Duration(25 * time.Millisecond)}
}

// TestBatcherConfig waits at most 100 ms.
func TestBatcherConfig() BatcherConfig {
	c := DefaultBatcherConfig()
	c.MaxWait = Duration(100 * time.Millisecond)
	return c
}

// ValidateBasic names a bad field.
func (c BatcherConfig) ValidateBasic() error {
	switch {
	case c.MaxRows < 1 || c.MaxRows > encoder.MaxBatchRows:
		return fmt.Errorf("max_rows %d: must be in [1, %d] (a batch's limit)", c.MaxRows, encoder.MaxBatchRows)
	case c.MinRows < 0 || c.MinRows > c.MaxRows:
		return fmt.Errorf("min_rows %d: must be in [0, max_rows] (0: from the chain's min_batch_slots)", c.MinRows)
	case c.Linger < 0:
		return fmt.Errorf("linger must not be negative")
	case c.MaxWait <= 0:
		return fmt.Errorf("max_wait must be positive")
	}
	return nil
}

// QueueConfig bounds what the pipeline holds. A blob holds its place from
// intake until it is certified or failed; a post that does not fit gets 429.
type QueueConfig struct {
	// MaxPendingBlobs bounds the accepted blobs not yet certified or failed.
	MaxPendingBlobs int `json:"max_pending_blobs"`
	// MaxPendingBytes bounds the memory those blobs hold in encoder form:
	// a blob of R data rows counts 4R·128 KiB (its R rows and its share of
	// its batch's 3D parity rows, 4096 field elements of 32 bytes each)
	// from intake on.
	MaxPendingBytes int64 `json:"max_pending_bytes"`
	// Batches is how many batches may wait between two stages (encode →
	// disperse → submit); a full stage holds the batcher back.
	Batches int `json:"batches"`
	// CommitRows is the most rows committed in one call at intake; posts
	// arriving together share a call.
	CommitRows int `json:"commit_rows"`
}

// DefaultQueueConfig: 4096 blobs, 2 GiB in encoder form, 2 batches between
// stages, 256 rows per commitment call.
func DefaultQueueConfig() QueueConfig {
	return QueueConfig{MaxPendingBlobs: 4096, MaxPendingBytes: 2 << 30, Batches: 2, CommitRows: 256}
}

// TestQueueConfig: 512 blobs, 512 MiB.
func TestQueueConfig() QueueConfig {
	return QueueConfig{MaxPendingBlobs: 512, MaxPendingBytes: 512 << 20, Batches: 2, CommitRows: 256}
}

// rowMem is the memory one packed row holds: 4096 elements of 32 bytes;
// maxBlobMem what the largest blob holds extended.
const (
	rowMem     = 4096 * 32
	maxBlobMem = encoder.ColumnExtension * encoder.MaxBlobRows * rowMem
)

// ValidateBasic names a bad field.
func (c QueueConfig) ValidateBasic() error {
	switch {
	case c.MaxPendingBlobs < 1:
		return fmt.Errorf("max_pending_blobs %d: must be positive", c.MaxPendingBlobs)
	case c.MaxPendingBytes < maxBlobMem:
		return fmt.Errorf("max_pending_bytes %d: must hold at least one largest blob (%d bytes in encoder form)",
			c.MaxPendingBytes, maxBlobMem)
	case c.Batches < 1:
		return fmt.Errorf("batches %d: must be positive", c.Batches)
	case c.CommitRows < encoder.MaxBlobRows:
		return fmt.Errorf("commit_rows %d: must be at least %d (the largest blob's rows)", c.CommitRows, encoder.MaxBlobRows)
	}
	return nil
}

// EncoderConfig sets the encoder's parallelism.
type EncoderConfig struct {
	// Workers for extension and decoding (0 = number of CPUs).
	Workers int `json:"workers"`
}

// DefaultEncoderConfig uses every CPU.
func DefaultEncoderConfig() EncoderConfig { return EncoderConfig{Workers: 0} }

// TestEncoderConfig is the default.
func TestEncoderConfig() EncoderConfig { return DefaultEncoderConfig() }

// ValidateBasic names a bad field.
func (c EncoderConfig) ValidateBasic() error {
	if c.Workers < 0 {
		return fmt.Errorf("workers %d: must not be negative (0 = number of CPUs)", c.Workers)
	}
	return nil
}

// DispersalConfig shapes dispersal and certificate submission.
type DispersalConfig struct {
	// Timeout bounds one Disperse call; SubmitTimeout one certificate
	// transaction (broadcast until included).
	Timeout       Duration `json:"timeout"`
	SubmitTimeout Duration `json:"submit_timeout"`
	// Attempts is how many times a batch is dispersed (and its certificate
	// submitted) before its blobs are marked failed.
	Attempts int `json:"attempts"`
	// Backoff is the wait after the first failed attempt, doubling up to
	// MaxBackoff.
	Backoff    Duration `json:"backoff"`
	MaxBackoff Duration `json:"max_backoff"`
	// Concurrency is how many batches are dispersed at once.
	Concurrency int `json:"concurrency"`
}

// DefaultDispersalConfig: 60 s per attempt, 8 attempts, backoff 500 ms to 30 s.
func DefaultDispersalConfig() DispersalConfig {
	return DispersalConfig{
		Timeout: Duration(60 * time.Second), SubmitTimeout: Duration(30 * time.Second),
		Attempts: 8, Backoff: Duration(500 * time.Millisecond), MaxBackoff: Duration(30 * time.Second),
		Concurrency: 2,
	}
}

// TestDispersalConfig retries quickly.
func TestDispersalConfig() DispersalConfig {
	return DispersalConfig{
		Timeout: Duration(20 * time.Second), SubmitTimeout: Duration(20 * time.Second),
		Attempts: 4, Backoff: Duration(10 * time.Millisecond), MaxBackoff: Duration(100 * time.Millisecond),
		Concurrency: 2,
	}
}

// ValidateBasic names a bad field.
func (c DispersalConfig) ValidateBasic() error {
	switch {
	case c.Timeout <= 0:
		return fmt.Errorf("timeout must be positive")
	case c.SubmitTimeout <= 0:
		return fmt.Errorf("submit_timeout must be positive")
	case c.Attempts < 1:
		return fmt.Errorf("attempts %d: must be at least 1", c.Attempts)
	case c.Backoff <= 0 || c.MaxBackoff < c.Backoff:
		return fmt.Errorf("backoff %v, max_backoff %v: need 0 < backoff ≤ max_backoff", c.Backoff, c.MaxBackoff)
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: must be positive", c.Concurrency)
	}
	return nil
}

// RetrievalConfig shapes reads: reconstruction from DA nodes when the local
// copy is gone, and cells.
type RetrievalConfig struct {
	// Timeout bounds one reconstruction (all row fetches and the decode).
	Timeout Duration `json:"timeout"`
	// Concurrency is how many rows are fetched at once.
	Concurrency int `json:"concurrency"`
	// CellCacheRows is how many dispersed rows' cells and proofs are kept
	// (about 300 KiB each); computing them costs an FK20 run per row.
	CellCacheRows int `json:"cell_cache_rows"`
	// MaxHeavy bounds the expensive reads run at once — a row's cells and
	// proofs (an FK20 run) or a blob rebuilt from the DA nodes — whatever
	// the number of requests asking; each uses every core.
	MaxHeavy int `json:"max_heavy"`
	// QueueTimeout is how long a read waits for one of those places before
	// it is answered 429 with Retry-After.
	QueueTimeout Duration `json:"queue_timeout"`
	// CacheBytes bounds the blobs rebuilt from DA nodes that are kept for
	// the next read (least recently read first out).
	CacheBytes int64 `json:"cache_bytes"`
	// BlockCacheBytes bounds the coset blocks of batches' column
	// extensions kept for serving parity rows' cells (K rows of 128 KiB
	// each, computed from the local copies).
	BlockCacheBytes int64 `json:"block_cache_bytes"`
}

// DefaultRetrievalConfig: 30 s, 16 fetches at once, 64 rows of cells
// cached, 2 expensive reads at once with a 10 s queue, 256 MiB of rebuilt
// blobs and 128 MiB of extension blocks cached.
func DefaultRetrievalConfig() RetrievalConfig {
	return RetrievalConfig{Timeout: Duration(30 * time.Second), Concurrency: 16, CellCacheRows: 64,
		MaxHeavy: 2, QueueTimeout: Duration(10 * time.Second), CacheBytes: 256 << 20, BlockCacheBytes: 128 << 20}
}

// TestRetrievalConfig is the default with a shorter timeout.
func TestRetrievalConfig() RetrievalConfig {
	c := DefaultRetrievalConfig()
	c.Timeout = Duration(20 * time.Second)
	return c
}

// ValidateBasic names a bad field.
func (c RetrievalConfig) ValidateBasic() error {
	switch {
	case c.Timeout <= 0:
		return fmt.Errorf("timeout must be positive")
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: must be positive", c.Concurrency)
	case c.CellCacheRows < 0:
		return fmt.Errorf("cell_cache_rows %d: must not be negative", c.CellCacheRows)
	case c.MaxHeavy < 1:
		return fmt.Errorf("max_heavy %d: must be positive", c.MaxHeavy)
	case c.QueueTimeout <= 0:
		return fmt.Errorf("queue_timeout must be positive")
	case c.CacheBytes < 0:
		return fmt.Errorf("cache_bytes %d: must not be negative", c.CacheBytes)
	case c.BlockCacheBytes < 0:
		return fmt.Errorf("block_cache_bytes %d: must not be negative", c.BlockCacheBytes)
	}
	return nil
}

// AltDAConfig is the OP Stack alt-DA server protocol (/put, /get).
type AltDAConfig struct {
	// DALayerByte is the second byte of the generic commitments /put returns:
	// 0x01 ‖ da_layer_byte ‖ 0x02 ‖ blob_key (docs/spec.md §7).
	DALayerByte uint8 `json:"da_layer_byte"`
	// PutTimeout is how long /put waits for the blob to be certified before
	// answering 503 (the rollup's signal to fail over).
	PutTimeout Duration `json:"put_timeout"`
	// MaxWaiters bounds the /put calls waiting for their certificate; they
	// hold no request slot of the intake while they wait. A /put over it
	// gets 429 before its body is read.
	MaxWaiters int `json:"max_waiters"`
	// DrainTimeout is how long Close lets waiting /put calls get their
	// certificate, the pipeline still running, before it stops; those
	// still waiting then get a retryable answer, never 503.
	DrainTimeout Duration `json:"drain_timeout"`
}

// DefaultAltDAConfig: da_layer_byte 0x7a ('z'), 60 s, 1024 waiters, 20 s
// of drain.
func DefaultAltDAConfig() AltDAConfig {
	return AltDAConfig{DALayerByte: 0x7a, PutTimeout: Duration(60 * time.Second), MaxWaiters: 1024,
		DrainTimeout: Duration(20 * time.Second)}
}

// TestAltDAConfig waits 20 s and drains for 1 s.
func TestAltDAConfig() AltDAConfig {
	c := DefaultAltDAConfig()
	c.PutTimeout = Duration(20 * time.Second)
	c.DrainTimeout = Duration(time.Second)
	return c
}

// ValidateBasic names a bad field.
func (c AltDAConfig) ValidateBasic() error {
	switch {
	case c.PutTimeout <= 0:
		return fmt.Errorf("put_timeout must be positive")
	case c.MaxWaiters < 1:
		return fmt.Errorf("max_waiters %d: must be positive", c.MaxWaiters)
	case c.DrainTimeout < 0:
		return fmt.Errorf("drain_timeout must not be negative")
	}
	return nil
}

// StorageConfig places the disperser's store (package storage): metadata
// in Dir, blob bytes in the volumes.
type StorageConfig struct {
	Dir string `json:"dir"`
	// Volumes must exist (a missing mount is never created silently);
	// with several, records are erasure-coded across them.
	Volumes []string `json:"volumes"`
	Parity  int      `json:"parity"`
	// SegmentSize is the log segment size per volume (0: storage's default).
	SegmentSize int64 `json:"segment_size"`
}

// DefaultStorageConfig: metadata in home/storage/meta, one volume at
// home/storage/vol0.
func DefaultStorageConfig(home string) StorageConfig {
	return StorageConfig{
		Dir:     filepath.Join(home, "storage", "meta"),
		Volumes: []string{filepath.Join(home, "storage", "vol0")},
	}
}

// TestStorageConfig: as the default under dir, with 4 MiB segments.
func TestStorageConfig(dir string) StorageConfig {
	c := DefaultStorageConfig(dir)
	c.SegmentSize = 4 << 20
	return c
}

// ValidateBasic names a bad field (storage.Open checks the rest).
func (c StorageConfig) ValidateBasic() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("dir must be set")
	case len(c.Volumes) == 0:
		return fmt.Errorf("volumes: at least one is needed")
	case c.Parity < 0:
		return fmt.Errorf("parity %d: must not be negative", c.Parity)
	case c.SegmentSize < 0:
		return fmt.Errorf("segment_size %d: must not be negative", c.SegmentSize)
	}
	return nil
}

// store builds the storage configuration, retention rules included.
func (c StorageConfig) store(r RetentionConfig) storage.Config {
	sc := storage.DefaultConfig(c.Dir)
	sc.Dir = c.Dir
	sc.Volumes.Paths = append([]string(nil), c.Volumes...)
	sc.Volumes.Parity = c.Parity
	if c.SegmentSize > 0 {
		sc.Log.SegmentSize = c.SegmentSize
	}
	sc.Log.MaxValueSize = int64(encoder.MaxBlobSize) + 1<<20
	sc.Retention.Interval = time.Duration(r.Interval)
	if r.BlobMaxAge > 0 {
		sc.Retention.Rules = []storage.RetentionRule{{Prefix: []byte(prefixBlob), MaxAge: time.Duration(r.BlobMaxAge)}}
	}
	return sc
}

// RetentionConfig prunes the disperser's copies of blob bytes after a while;
// reads then reconstruct from the DA nodes (docs/spec.md §3.6). Statuses,
// commitments, batch headers and certificates are kept.
type RetentionConfig struct {
	// BlobMaxAge: local copies older than this are pruned (0: kept forever).
	BlobMaxAge Duration `json:"blob_max_age"`
	// Interval between pruning rounds (0: no background pruning).
	Interval Duration `json:"interval"`
}

// DefaultRetentionConfig keeps blob bytes 72 hours, pruning every 10 minutes.
func DefaultRetentionConfig() RetentionConfig {
	return RetentionConfig{BlobMaxAge: Duration(72 * time.Hour), Interval: Duration(10 * time.Minute)}
}

// TestRetentionConfig prunes nothing in the background.
func TestRetentionConfig() RetentionConfig { return RetentionConfig{} }

// ValidateBasic names a bad field.
func (c RetentionConfig) ValidateBasic() error {
	switch {
	case c.BlobMaxAge < 0:
		return fmt.Errorf("blob_max_age must not be negative")
	case c.Interval < 0:
		return fmt.Errorf("interval must not be negative")
	case c.Interval > 0 && c.BlobMaxAge == 0:
		return fmt.Errorf("interval is set but blob_max_age is 0: nothing would be pruned")
	}
	return nil
}

// Duration is a time.Duration written as a string ("250ms", "72h") in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String renders the duration as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }
