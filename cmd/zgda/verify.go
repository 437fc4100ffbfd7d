package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/signer"
)

// verdict is what `zgda verify` reports.
type verdict struct {
	Valid     bool      `json:"valid"`
	Reason    string    `json:"reason,omitempty"`
	BlobKey   string    `json:"blob_key,omitempty"`
	BatchRoot da.Hash   `json:"batch_root"`
	Height    int64     `json:"height,omitzero"`
	Epoch     uint64    `json:"epoch"`
	Quorum    uint32    `json:"quorum"`
	Signers   int       `json:"signers"`
	Index     int       `json:"index,omitzero"`
	Proof     []da.Hash `json:"inclusion_proof,omitempty"`
}

// errInvalid makes `zgda verify` exit 2: the check ran and the certificate
// or blob does not hold up (1 means it could not be checked).
type errInvalid struct{ why string }

func (e *errInvalid) Error() string { return "INVALID: " + e.why }
func (e *errInvalid) ExitCode() int { return 2 }

func init() {
	var rpc, certFile string
	var asJSON bool
	var tf trustFlags
	cmd := &cobra.Command{
		Use:   "verify BLOB_KEY | --certificate FILE [--trust FILE] [--chain-rpc URL] [--json]",
		Short: "Verify off the chain that a blob is certified, or that a certificate is recorded and valid",
		Long: `verify checks, trusting nothing but a trust root (--trust, or --chain-id with
--trust-height and --trust-hash; docs/spec.md §6 Verified reads), that a
certificate is recorded on the chain and holds: headers are verified with
CometBFT's light client, every chain answer with ICS-23 proofs against a
verified app hash; then the certificate's signers must hold slots of its
batch's window in the proven quorum, meet the threshold, and their proven
BLS keys must verify its aggregate signature. For a BLOB_KEY it also checks
that the blob is in the certified batch (its RFC 6962 audit path against the
batch root). --certificate reads a certificate (its JSON form, as the
chain's /certificate query gives it, or the binary form of docs/spec.md
§4.4) instead of a blob key.

Exit status: 0 valid, 2 invalid (including chain data that fails
verification), 1 the check could not be made (no trust root, RPC down).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (certFile != "") {
				return errors.New("give a BLOB_KEY or --certificate FILE")
			}
			root, err := tf.root()
			if err != nil {
				return err
			}
			if root == nil {
				return errors.New("verify needs a trust root: --trust FILE (written by 'zgda devnet' and 'zgda chain start'), or --chain-id with --trust-height and --trust-hash")
			}
			ctx, cancel := context.WithTimeout(contextOf(cmd), 2*time.Minute)
			defer cancel()
			cl, err := chain.DialVerified(ctx, rpc, *root, tf.witnesses...)
			if err != nil {
				return invalidIfUnverified(err)
			}
			defer cl.Close()
			var v *verdict
			if len(args) == 1 {
				var key da.BlobKey
				if err := key.UnmarshalText([]byte(args[0])); err != nil {
					return fmt.Errorf("BLOB_KEY: %w", err)
				}
				v, err = verifyBlob(ctx, cl, key)
			} else {
				var c *da.Certificate
				if c, err = readCertificate(certFile); err != nil {
					return err
				}
				v, err = verifyCertificate(ctx, cl, c)
			}
			if err != nil {
				return invalidIfUnverified(err)
			}
			return report(cmd.OutOrStdout(), v, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&rpc, "chain-rpc", "http://127.0.0.1:26657", "the chain's CometBFT RPC (the devnet's by default)")
	f.StringVar(&certFile, "certificate", "", "a certificate file to verify instead of a blob key")
	f.BoolVar(&asJSON, "json", false, "print the verdict as JSON")
	tf.add(cmd)
	rootCmd.AddCommand(cmd)
}

// invalidIfUnverified turns chain data that fails verification into an
// invalid verdict (exit 2); other errors stay "could not check" (exit 1).
func invalidIfUnverified(err error) error {
	if errors.Is(err, chain.ErrVerification) {
		return &errInvalid{err.Error()}
	}
	return err
}

func report(w io.Writer, v *verdict, asJSON bool) error {
	if asJSON {
		if err := json.NewEncoder(w).Encode(v); err != nil {
			return err
		}
	} else if v.Valid {
		what := "certificate of batch " + v.BatchRoot.String()
		if v.BlobKey != "" {
			what = "blob " + v.BlobKey + " in batch " + v.BatchRoot.String()
		}
		fmt.Fprintf(w, "VALID: %s, recorded at height %d (epoch %d, quorum %d, %d signers)\n", what, v.Height, v.Epoch, v.Quorum, v.Signers)
	}
	if !v.Valid {
		return &errInvalid{v.Reason}
	}
	return nil
}

// verifyBlob checks that key's batch is certified and holds key.
func verifyBlob(ctx context.Context, cl chain.Client, key da.BlobKey) (*verdict, error) {
	loc, err := cl.BlobBatch(ctx, key)
	if chain.IsNotFound(err) {
		return &verdict{BlobKey: key.String(), Reason: fmt.Sprintf("the chain proves blob %s has no certified batch in the availability window", key)}, nil
	}
	if err != nil {
		return nil, err
	}
	rec, err := cl.Certificate(ctx, loc.BatchRoot)
	if err != nil {
		return nil, err
	}
	v, err := checkRecorded(ctx, cl, &rec.Certificate, rec.Height)
	if err != nil || !v.Valid {
		return v, err
	}
	v.BlobKey, v.Index = key.String(), loc.Index
	c := &rec.Certificate
	if loc.Index >= len(c.Blobs) || c.Blobs[loc.Index].Key != key {
		v.Valid, v.Reason = false, fmt.Sprintf("the batch's blob %d is not %s", loc.Index, key)
		return v, nil
	}
	proof, err := da.InclusionProof(c.Blobs, loc.Index)
	if err != nil {
		return nil, err
	}
	if !da.VerifyInclusion(c.BatchRoot, c.Blobs[loc.Index], uint64(loc.Index), uint64(len(c.Blobs)), proof) {
		v.Valid, v.Reason = false, fmt.Sprintf("blob %s's audit path does not lead to batch root %s", key, c.BatchRoot)
		return v, nil
	}
	v.Proof = proof
	return v, nil
}

// verifyCertificate checks that c is the certificate the chain recorded
// for its batch, and that it holds.
func verifyCertificate(ctx context.Context, cl chain.Client, c *da.Certificate) (*verdict, error) {
	rec, err := cl.Certificate(ctx, c.BatchRoot)
	if chain.IsNotFound(err) {
		return &verdict{BatchRoot: c.BatchRoot, Epoch: c.Epoch, Quorum: c.Quorum, Reason: fmt.Sprintf("the chain proves no certificate of batch %s is recorded", c.BatchRoot)}, nil
	}
	if err != nil {
		return nil, err
	}
	a, _ := c.MarshalBinary()
	b, _ := rec.Certificate.MarshalBinary()
	if string(a) != string(b) {
		return &verdict{BatchRoot: c.BatchRoot, Reason: "the recorded certificate of this batch differs from the file's"}, nil
	}
	return checkRecorded(ctx, cl, c, rec.Height)
}

// checkRecorded re-checks a recorded certificate against proven quorums
// and signer keys: window slots, threshold, aggregate signature.
func checkRecorded(ctx context.Context, cl chain.Client, c *da.Certificate, height int64) (*verdict, error) {
	v := &verdict{BatchRoot: c.BatchRoot, Height: height, Epoch: c.Epoch, Quorum: c.Quorum, Signers: c.Signers.Count()}
	st, err := cl.Status(ctx)
	if err != nil {
		return nil, err
	}
	ep, err := cl.Epoch(ctx, c.Epoch)
	if chain.IsNotFound(err) {
		return nil, fmt.Errorf("epoch %d's quorums are no longer in the chain's state (pruned once the epoch left the availability window, docs/spec.md §6), so this certificate cannot be checked: %w", c.Epoch, err)
	}
	if err != nil {
		return nil, err
	}
	if int(c.Quorum) >= len(ep.Quorums) {
		v.Reason = fmt.Sprintf("epoch %d has %d quorums, no quorum %d", c.Epoch, len(ep.Quorums), c.Quorum)
		return v, nil
	}
	signers, err := cl.Signers(ctx)
	if err != nil {
		return nil, err
	}
	if err := chain.CheckCertificateSlots(st.Params, c, ep.Quorums[c.Quorum], uint32(len(signers))); err != nil {
		v.Reason = err.Error()
		return v, nil
	}
	var pks []*signer.PublicKey
	for _, i := range c.Signers.Indices() {
		pk, err := signer.ParsePublicKey(signers[i].PubKey[:])
		if err != nil {
			v.Reason = fmt.Sprintf("signer %d's registered key: %v", i, err)
			return v, nil
		}
		pks = append(pks, pk)
	}
	if err := chain.VerifyCertificateSignature(c, c.Message(cl.ChainID()), pks); err != nil {
		v.Reason = err.Error()
		return v, nil
	}
	v.Valid = true
	return v, nil
}

// readCertificate reads a certificate file: JSON (a certificate, or a
// /certificate record with one inside) or its binary form.
func readCertificate(path string) (*da.Certificate, error) {
	b, err := readSmallFile(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("--certificate: %w", err)
	}
	var rec chain.CertificateRecord
	if json.Unmarshal(b, &rec) == nil && len(rec.Certificate.Blobs) > 0 {
		return &rec.Certificate, nil
	}
	var c da.Certificate
	if json.Unmarshal(b, &c) == nil && len(c.Blobs) > 0 {
		return &c, nil
	}
	if err := c.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("--certificate %s: neither a JSON certificate nor a binary one (%v)", path, err)
	}
	return &c, nil
}
