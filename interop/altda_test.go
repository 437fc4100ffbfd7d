package interop_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	altda "github.com/ethereum-optimism/optimism/op-alt-da"
	"github.com/ethereum-optimism/optimism/op-node/rollup/derive/params"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/devnet"
)

// zgdaVersion is the generic commitment's version byte for zgda/v2 blob
// keys (docs/spec.md §7): commitment = 0x01 ‖ da_layer_byte ‖ 0x02 ‖ blob_key.
const zgdaVersion = 0x02

// TestAltDAClient drives the OP Stack's own alt-DA client, configured as
// op-node and op-batcher configure it for a generic DA server, against a
// real devnet (docs/spec.md §7, "OP Stack alt-DA"):
//
//   - SetInput (POST /put, answered once the blob is certified) returns a
//     generic commitment 0x01 ‖ da_layer_byte ‖ 0x02 ‖ blob_key whose key
//     the chain has certified, and GetInput returns the identical bytes;
//   - a well-formed commitment of a blob the server never saw is
//     altda.ErrNotFound, so that op-node waits for a challenge;
//   - a commitment that can never be served (another version byte, another
//     da_layer_byte, a truncated or over-long key, a Keccak256 commitment)
//     is 418, "drop this commitment", never 404.
//
// The client is optimism v1.19.6's: its GetInput takes no L1 inclusion
// block number (it never sends ?l1_inclusion_block_number=), and it has no
// "drop this commitment" error type (DropEigenDACommitmentError, parsed
// from a 418's JSON body, exists only in later op-alt-da clients). It
// reports every status other than 200 and 404 as an unwrapped "failed to
// get preimage: <status>", which op-node v1.19.6 treats as a temporary
// error and retries; statusOf reads the status back from it.
func TestAltDAClient(t *testing.T) {
	n := startDevnet(t)
	dl := n.Engine().Config().AltDA.DALayerByte
	ctx := ctxT(t, 4*time.Minute)

	cfg := altda.CLIConfig{
		Enabled:      true,
		DAServerURL:  n.URL(),
		VerifyOnRead: true,
		GenericDA:    true,
		PutTimeout:   2 * time.Minute,
		GetTimeout:   time.Minute,
	}
	if err := cfg.Check(); err != nil {
		t.Fatalf("alt-DA config: %v", err)
	}
	c := cfg.NewDAClient()

	t.Run("RoundTrip", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			size int
		}{
			{"1KiB", 1 << 10},
			{"200KiB", 200 << 10},
		} {
			t.Run(tc.name, func(t *testing.T) {
				blob := randBytes(t, tc.size)
				comm, err := c.SetInput(ctx, blob)
				if err != nil {
					t.Fatalf("SetInput: %v", err)
				}
				key := checkCommitment(t, comm, dl)
				if _, err := n.Chain().Client().CertificateForBlob(ctx, key); err != nil {
					t.Fatalf("commitment %s: blob %s is not certified on chain: %v", comm, key, err)
				}
				back, err := c.GetInput(ctx, comm)
				if err != nil {
					t.Fatalf("GetInput(%s): %v", comm, err)
				}
				if !bytes.Equal(back, blob) {
					t.Fatalf("GetInput(%s): %d bytes, not the %d posted", comm, len(back), len(blob))
				}
				// What op-node does: decode the batcher transaction's
				// commitment, then fetch with the decoded value.
				dec, err := altda.DecodeCommitmentData(comm.TxData()[1:])
				if err != nil {
					t.Fatalf("DecodeCommitmentData(%x): %v", comm.TxData()[1:], err)
				}
				if back, err := c.GetInput(ctx, dec); err != nil || !bytes.Equal(back, blob) {
					t.Fatalf("GetInput(decoded %s): %d bytes, %v", dec, len(back), err)
				}
			})
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		comm := altda.NewGenericCommitment(append([]byte{dl, zgdaVersion}, randBytes(t, 32)...))
		_, err := c.GetInput(ctx, comm)
		if !errors.Is(err, altda.ErrNotFound) {
			t.Fatalf("GetInput(unknown %s): %v, want altda.ErrNotFound", comm, err)
		}
	})

	t.Run("Malformed", func(t *testing.T) {
		key := randBytes(t, 32)
		for _, tc := range []struct {
			name string
			comm altda.CommitmentData
		}{
			{"WrongVersion", altda.NewGenericCommitment(cat([]byte{dl, 0x07}, key))},
			{"WrongDALayer", altda.NewGenericCommitment(cat([]byte{dl ^ 0xff, zgdaVersion}, key))},
			{"Truncated", altda.NewGenericCommitment(cat([]byte{dl, zgdaVersion}, key[:31]))},
			{"NoKey", altda.NewGenericCommitment([]byte{dl, zgdaVersion})},
			{"TooLong", altda.NewGenericCommitment(cat([]byte{dl, zgdaVersion}, key, []byte{0}))},
			{"Keccak256", altda.NewKeccak256Commitment(key)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.GetInput(ctx, tc.comm)
				if err == nil {
					t.Fatalf("GetInput(%s): no error", tc.comm)
				}
				if errors.Is(err, altda.ErrNotFound) {
					t.Fatalf("GetInput(%s): altda.ErrNotFound; a commitment that can never be served must be refused, not reported missing", tc.comm)
				}
				if st, ok := statusOf(err); !ok || st != http.StatusTeapot {
					t.Fatalf("GetInput(%s): %v; want status 418, \"drop this commitment\" (docs/spec.md §7)", tc.comm, err)
				}
			})
		}
	})
}

// checkCommitment checks the commitment SetInput returned with the
// client's own types and returns its blob key.
func checkCommitment(t *testing.T, comm altda.CommitmentData, dl byte) da.BlobKey {
	t.Helper()
	if comm.CommitmentType() != altda.GenericCommitmentType {
		t.Fatalf("commitment %s: type %d, want generic (%d)", comm, comm.CommitmentType(), altda.GenericCommitmentType)
	}
	g, ok := comm.(altda.GenericCommitment)
	if !ok {
		t.Fatalf("commitment %s: %T, want altda.GenericCommitment", comm, comm)
	}
	enc := comm.Encode()
	if len(enc) != 3+32 || enc[0] != byte(altda.GenericCommitmentType) || enc[1] != dl || enc[2] != zgdaVersion {
		t.Fatalf("commitment %x: want 0x01 ‖ 0x%02x ‖ 0x%02x ‖ 32-byte blob key", enc, dl, zgdaVersion)
	}
	if !bytes.Equal(enc[1:], g) {
		t.Fatalf("commitment %x: Encode is not 0x01 ‖ %x", enc, []byte(g))
	}
	if tx := comm.TxData(); len(tx) != 1+len(enc) || tx[0] != params.DerivationVersion1 || !bytes.Equal(tx[1:], enc) {
		t.Fatalf("commitment %s: TxData %x, want 0x%02x ‖ %x", comm, tx, params.DerivationVersion1, enc)
	}
	dec, err := altda.DecodeCommitmentData(enc)
	if err != nil || dec.CommitmentType() != altda.GenericCommitmentType || !bytes.Equal(dec.Encode(), enc) {
		t.Fatalf("DecodeCommitmentData(%x): %v, %v", enc, dec, err)
	}
	var key da.BlobKey
	copy(key[:], enc[3:])
	return key
}

// statusOf is the HTTP status in one of the client's "failed to ..."
// errors: optimism v1.19.6's DAClient reports a status other than 200 and
// 404 only as fmt.Errorf("failed to get preimage: %v", status), unwrapped.
func statusOf(err error) (int, bool) {
	const prefix = "failed to get preimage: "
	s, ok := strings.CutPrefix(err.Error(), prefix)
	if !ok {
		return 0, false
	}
	st, err := strconv.Atoi(s)
	return st, err == nil
}

func startDevnet(t *testing.T) *devnet.Network {
	t.Helper()
	cfg := devnet.TestConfig(t.TempDir())
	if os.Getenv("ZGDA_DEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := devnet.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func randBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
