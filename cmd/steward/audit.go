package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
)

// auditKeyPath returns where the audit log's signing key lives: $STEWARD_AUDIT_KEY_FILE,
// or audit.key in the data directory.
func (e *env) auditKeyPath(f dbFlags) string {
	if p := e.getenv("STEWARD_AUDIT_KEY_FILE"); p != "" {
		return p
	}
	return filepath.Join(f.dataDir, "audit.key")
}

// auditKey loads the audit log's signing key, creating it on first start.
func (e *env) auditKey(f dbFlags, log *slog.Logger) (*audit.Key, error) {
	path := e.auditKeyPath(f)
	key, created, err := audit.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created the audit log's signing key", "file", path, "verifier_key", key.VerifierKey)
	}
	return key, nil
}

func (e *env) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify the audit log, from inside or from outside"}
	cmd.AddCommand(e.auditVerifyCmd(), e.auditWitnessCmd())
	return cmd
}

func (e *env) auditVerifyCmd() *cobra.Command {
	var f dbFlags
	var vkey string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit log from its stored entries and check every checkpoint",
		Long: `Recompute every leaf hash and the whole Merkle tree from the stored audit entries,
check every stored checkpoint's signature and root, and that each extends the one before.
Exits non-zero, naming the first bad entry, if any entry, tree tile or checkpoint was
altered, deleted, reordered or inserted behind Steward's back.

The checkpoints are checked with --verifier-key if given, else with the key derived from
the signing key file ($STEWARD_AUDIT_KEY_FILE or audit.key in --data-dir), else with the
key recorded in the database (which a forger with the database could have replaced).

It only reads: it opens the database read-only (a read-only copy will do), applies no
migration, and fails, naming the path, when --data-dir holds no steward.db.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.auditVerify(cmd.Context(), f, vkey)
		},
	}
	e.addDBFlags(cmd, &f)
	cmd.Flags().StringVar(&vkey, "verifier-key", "", "the log's note verifier key (name+hash+key)")
	return cmd
}

func (e *env) auditVerify(ctx context.Context, f dbFlags, vkey string) error {
	f.readOnly = true
	a, err := openApp(ctx, f, slog.New(slog.DiscardHandler), app.Config{})
	if err != nil {
		return err
	}
	defer a.Close()
	source := "--verifier-key"
	if vkey == "" {
		source = e.auditKeyPath(f)
		key, err := audit.LoadKey(source)
		switch {
		case err == nil:
			vkey = key.VerifierKey
		case errors.Is(err, fs.ErrNotExist):
			source = "the database (no key file; pass --verifier-key to check against a key you trust)"
			if vkey, err = a.Audit.VerifierKey(ctx); err != nil {
				return err
			}
		default:
			return err
		}
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	fmt.Fprintf(e.stderr, "verifying with %s from %s\n", vkey, source)
	start, last := time.Now(), time.Now()
	rep, err := audit.Verify(ctx, a.db.Audit(), v, func(n int64) {
		if time.Since(last) > 2*time.Second {
			fmt.Fprintf(e.stderr, "  %d entries checked…\n", n)
			last = time.Now()
		}
	})
	if err != nil {
		var te *audit.TamperError
		if errors.As(err, &te) {
			return fmt.Errorf("audit log verification FAILED at entry %d: %s", te.Index, te.Reason)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "audit log OK: %d entries, %d tiles and %d signed checkpoints check out (%v)\n",
		rep.Entries, rep.Tiles, rep.Checkpoints, time.Since(start).Round(time.Millisecond))
	if rep.Latest != nil {
		fmt.Fprintf(e.stdout, "latest checkpoint: size %d, root %s\n", rep.Latest.Size, rep.Latest.Root)
	}
	if rep.Pending > 0 {
		fmt.Fprintf(e.stdout, "%d committed entries are not yet in the tree (steward serve adds them within a second)\n", rep.Pending)
	}
	return nil
}

// witnessState is what a witness keeps between runs: the key it trusts and the newest
// checkpoint it has accepted.
type witnessState struct {
	VerifierKey string `json:"verifier_key"`
	Checkpoint  string `json:"checkpoint"`
}

func (e *env) auditWitnessCmd() *cobra.Command {
	var cf clientFlags
	var state, vkey string
	cmd := &cobra.Command{
		Use:   "witness",
		Short: "Check that a server's audit log only ever grows, keeping the newest checkpoint in a file",
		Long: `Fetch the server's latest audit checkpoint and check its signature and, with a
consistency proof, that it extends the checkpoint saved in --state; then save it there.
Run it from outside, on a schedule. It fails loudly if the log forked, was rewritten, or
shrank. The first run trusts the server's verifier key (or --verifier-key) and pins it in
the state file. Needs an auditor key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if state == "" {
				return errs.Field("state", "is required: the file that keeps the newest checkpoint")
			}
			if cf.key == "" {
				return errors.New("an API key is required: --key or $STEWARD_KEY (steward keys create --role auditor)")
			}
			return e.auditWitness(cmd.Context(), cf, state, vkey)
		},
	}
	e.addClientFlags(cmd, &cf)
	cmd.Flags().StringVar(&state, "state", "", "file keeping the trusted key and the newest checkpoint (required)")
	cmd.Flags().StringVar(&vkey, "verifier-key", "", "the log's verifier key, if known; else trusted on first use")
	return cmd
}

func (e *env) auditWitness(ctx context.Context, cf clientFlags, statePath, vkey string) error {
	src := clientSource{client.New(cf.url, cf.key, &http.Client{Timeout: time.Minute})}
	var st witnessState
	b, err := os.ReadFile(statePath)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("%s: %w", statePath, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	servedKey, err := src.VerifierKey(ctx)
	if err != nil {
		return err
	}
	switch {
	case st.VerifierKey != "" && vkey != "" && vkey != st.VerifierKey:
		return fmt.Errorf("--verifier-key differs from the key pinned in %s", statePath)
	case st.VerifierKey == "" && vkey == "":
		st.VerifierKey = servedKey
		fmt.Fprintf(e.stderr, "first run: trusting the server's verifier key %s\n", servedKey)
	case st.VerifierKey == "":
		st.VerifierKey = vkey
	}
	if servedKey != st.VerifierKey {
		return fmt.Errorf("WARNING: the server now presents the verifier key %s, not the trusted %s: the log may have been replaced", servedKey, st.VerifierKey)
	}
	v, err := note.NewVerifier(st.VerifierKey)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	var prev []byte
	if st.Checkpoint != "" {
		prev = []byte(st.Checkpoint)
	}
	cp, err := audit.Witness(ctx, src, v, prev)
	if err != nil {
		var fork *audit.ForkError
		if errors.As(err, &fork) {
			return fmt.Errorf("WARNING: %w; keep %s as evidence", err, statePath)
		}
		return err
	}
	old := int64(0)
	if prev != nil {
		if c, err := audit.OpenCheckpoint(prev, v); err == nil {
			old = c.Size
		}
	}
	st.Checkpoint = string(cp.Note)
	if err := writeFileAtomic(statePath, st); err != nil {
		return err
	}
	switch {
	case prev == nil:
		fmt.Fprintf(e.stdout, "audit log at %d entries, root %s: saved\n", cp.Size, cp.Root)
	case old == cp.Size:
		fmt.Fprintf(e.stdout, "audit log unchanged at %d entries, root %s\n", cp.Size, cp.Root)
	default:
		fmt.Fprintf(e.stdout, "audit log grew from %d to %d entries, consistently; root %s: saved\n", old, cp.Size, cp.Root)
	}
	return nil
}

// writeFileAtomic writes v as JSON to path through a temporary file, so a crash leaves
// the old state or the new one.
func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".witness-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err = errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// clientSource is a Steward server's audit log, read through the client as
// audit.Witness reads it; its errors say which read failed.
type clientSource struct{ c *client.Client }

func (s clientSource) VerifierKey(ctx context.Context) (string, error) {
	k, err := s.c.AuditVerifierKey(ctx)
	return k, inGET("/v1/audit/verifier-key", err)
}

func (s clientSource) Checkpoint(ctx context.Context) ([]byte, error) {
	b, err := s.c.AuditCheckpoint(ctx)
	return b, inGET("/v1/audit/checkpoint", err)
}

func (s clientSource) ConsistencyProof(ctx context.Context, from, to int64) ([][]byte, error) {
	hs, err := s.c.AuditConsistencyProof(ctx, from, to)
	return hs, inGET("/v1/audit/proof/consistency", err)
}

// inGET names the read that failed, unless err is nil.
func inGET(path string, err error) error {
	var e *client.Error
	if errors.As(err, &e) {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return err
}
