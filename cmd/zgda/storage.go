package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/storage"
)

// zgda storage {stats,scrub,compact}: offline maintenance of a node's store
// (the node itself runs the same work in the background).
func init() {
	var dir string
	var volumes []string
	var allowReplace, asJSON bool
	open := func() (*storage.Store, error) {
		if dir == "" || len(volumes) == 0 {
			return nil, fmt.Errorf("--dir and at least one --volume are required")
		}
		cfg := storage.DefaultConfig(dir)
		cfg.Dir = dir
		cfg.Volumes.Paths = volumes
		cfg.Volumes.AllowReplace = allowReplace
		cfg.Scrub.Interval, cfg.Compaction.Interval, cfg.Retention.Interval = 0, 0, 0
		return storage.Open(cfg)
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			defer s.Close()
			return show(cmd, s.Stats())
		},
	})
	root.AddCommand(&cobra.Command{
		Use:   "scrub",
		Short: "Verify every shard and rebuild bad or missing ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			defer s.Close()
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
		},
	})
	root.AddCommand(&cobra.Command{
		Use:   "compact",
		Short: "Reclaim space held by deleted and pruned values",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := s.Compact(cmd.Context())
			if perr := show(cmd, rep); err == nil {
				err = perr
			}
			return err
		},
	})
	rootCmd.AddCommand(root)
}
