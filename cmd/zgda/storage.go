package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/storage"
)

// zgda storage {stats,scrub,compact,check,repair,rebuild-index}: offline
// maintenance of a node's store (the node itself runs scrubbing and
// compaction in the background; check and repair deal with a damaged log,
// which stops Open; rebuild-index recovers a lost metadata database).
func init() {
	var dir string
	var volumes []string
	var allowReplace, asJSON bool
	config := func() (storage.Config, error) {
		if dir == "" || len(volumes) == 0 {
			return storage.Config{}, fmt.Errorf("--dir and at least one --volume are required")
		}
		cfg := storage.DefaultConfig(dir)
		cfg.Dir = dir
		cfg.Volumes.Paths = volumes
		cfg.Volumes.AllowReplace = allowReplace
		cfg.Scrub.Interval, cfg.Compaction.Interval, cfg.Retention.Interval = 0, 0, 0
		return cfg, nil
	}
	// withConfig and withStore run a task on the flags' configuration, or
	// on the store it opens (closed after the task).
	withConfig := func(task func(cmd *cobra.Command, cfg storage.Config) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			cfg, err := config()
			if err != nil {
				return err
			}
			return task(cmd, cfg)
		}
	}
	withStore := func(task func(cmd *cobra.Command, s *storage.Store) error) func(*cobra.Command, []string) error {
		return withConfig(func(cmd *cobra.Command, cfg storage.Config) error {
			s, err := storage.Open(cfg)
			if err != nil {
				return err
			}
			defer s.Close()
			return task(cmd, s)
		})
	}
	show := func(cmd *cobra.Command, v any) error {
		if asJSON {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		_, err := fmt.Fprintln(cmd.OutOrStdout(), string(b))
		return err
	}
	root := &cobra.Command{
		Use:   "storage",
		Short: "Inspect and maintain a storage directory (stop the node first)",
		Long: `storage opens a node's store (--dir: the metadata directory, --volume: each
volume directory, in the original order) and runs one maintenance task.
Opening replays the log after a crash. Volumes wiped by a disk replacement
are adopted with --allow-replace and rebuilt by 'scrub'.`,
	}
	root.PersistentFlags().StringVar(&dir, "dir", "", "metadata directory (Pebble)")
	root.PersistentFlags().StringArrayVar(&volumes, "volume", nil, "volume directory (repeat, in order)")
	root.PersistentFlags().BoolVar(&allowReplace, "allow-replace", false, "adopt empty directories as replacements for lost volumes")
	root.PersistentFlags().BoolVar(&asJSON, "json", false, "print compact JSON")

	root.AddCommand(&cobra.Command{
		Use:   "stats",
		Short: "Print segment and space statistics",
		Args:  cobra.NoArgs,
		RunE: withStore(func(cmd *cobra.Command, s *storage.Store) error {
			return show(cmd, s.Stats())
		}),
	})
	root.AddCommand(&cobra.Command{
		Use:   "health",
		Short: "Print each volume's state (online, offline, healing) and whether the store is read-only",
		Args:  cobra.NoArgs,
		RunE: withStore(func(cmd *cobra.Command, s *storage.Store) error {
			return show(cmd, s.Health())
		}),
	})
	root.AddCommand(&cobra.Command{
		Use:   "scrub",
		Short: "Verify every shard and rebuild bad or missing ones",
		Args:  cobra.NoArgs,
		RunE: withStore(func(cmd *cobra.Command, s *storage.Store) error {
			rep, err := s.Scrub(cmd.Context())
			if err != nil {
				return err
			}
			errs := make([]string, len(rep.Unrecoverable))
			for i, e := range rep.Unrecoverable {
				errs[i] = e.Error()
			}
			if err := show(cmd, map[string]any{"records": rep.Records, "bytes": rep.Bytes,
				"repaired_shards": rep.RepairedShard, "unrecoverable": errs}); err != nil {
				return err
			}
			if len(errs) > 0 {
				return fmt.Errorf("%d records are unrecoverable", len(errs))
			}
			return nil
		}),
	})
	root.AddCommand(&cobra.Command{
		Use:   "compact",
		Short: "Reclaim space held by deleted and pruned values",
		Args:  cobra.NoArgs,
		RunE: withStore(func(cmd *cobra.Command, s *storage.Store) error {
			rep, err := s.Compact(cmd.Context())
			if perr := show(cmd, rep); err == nil {
				err = perr
			}
			return err
		}),
	})
	root.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Scan the log Open would replay; report torn tails and damaged records, change nothing",
		Args:  cobra.NoArgs,
		RunE: withConfig(func(cmd *cobra.Command, cfg storage.Config) error {
			rep, err := storage.Check(cfg)
			if err != nil {
				return err
			}
			if err := show(cmd, logReport(rep)); err != nil {
				return err
			}
			if len(rep.Corrupt) > 0 {
				return fmt.Errorf("%d damaged log stretches; Open refuses the store until 'zgda storage repair' drops them (their values are lost: fetch them again from their source)", len(rep.Corrupt))
			}
			return nil
		}),
	})
	root.AddCommand(&cobra.Command{
		Use:   "repair",
		Short: "Drop the damaged log records 'check' reports (and the batches they break), saying what was dropped",
		Args:  cobra.NoArgs,
		RunE: withConfig(func(cmd *cobra.Command, cfg storage.Config) error {
			rep, err := storage.Repair(cfg)
			if rep != nil {
				if perr := show(cmd, logReport(rep)); err == nil {
					err = perr
				}
			}
			return err
		}),
	})
	root.AddCommand(&cobra.Command{
		Use:   "rebuild-index",
		Short: "Rebuild the metadata database from the volumes alone (the old one is moved aside, never deleted)",
		Args:  cobra.NoArgs,
		RunE: withConfig(func(cmd *cobra.Command, cfg storage.Config) error {
			rep, err := storage.RebuildIndex(cfg)
			if rep != nil {
				damaged := make([]string, len(rep.Damaged))
				for i, d := range rep.Damaged {
					damaged[i] = d.Err.Error()
				}
				if perr := show(cmd, map[string]any{"moved_aside": rep.MovedAside, "segments": rep.Segments,
					"records": rep.Records, "keys": rep.Keys, "damaged": damaged}); err == nil {
					err = perr
				}
			}
			return err
		}),
	})
	rootCmd.AddCommand(root)
}

// logReport renders a storage.LogReport with each damaged stretch's error
// and dropped batch keys spelled out.
func logReport(r *storage.LogReport) map[string]any {
	var bad []map[string]any
	for _, d := range r.Corrupt {
		keys := make([]string, len(d.BatchKeys))
		for i, k := range d.BatchKeys {
			keys[i] = fmt.Sprintf("%q", k)
		}
		bad = append(bad, map[string]any{"segment": d.Segment, "offset": d.Offset, "end": d.End,
			"error": d.Err.Error(), "batch_keys": keys})
	}
	return map[string]any{"checkpoint": r.Checkpoint, "segments": r.Segments, "records": r.Records,
		"torn_tails": r.TornTails, "damaged": bad}
}
