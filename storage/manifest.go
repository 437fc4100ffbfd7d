package storage

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Each volume directory holds a small JSON manifest that says which store it
// belongs to and which shard position it holds; the metadata database holds
// the store's manifest with the list of volume IDs. Open compares the two with
// the configuration, so a swapped, missing, foreign or wiped disk is named
// instead of silently read as the wrong shard.

const (
	volumeManifestName = "ZGDA-VOLUME"
	segmentsDirName    = "segments"
	volumeFormat       = "zgda-volume/1"
	storeFormat        = "zgda-store/1"
)

// volumeManifest is the JSON in each volume directory.
type volumeManifest struct {
	Format  string    `json:"format"`
	Store   string    `json:"store"`  // store id, 32 hex digits
	Volume  string    `json:"volume"` // volume id, 32 hex digits
	Index   int       `json:"index"`  // shard position
	Volumes int       `json:"volumes"`
	K       int       `json:"data_shards"`
	M       int       `json:"parity_shards"`
	Created time.Time `json:"created"`
}

// storeManifest is the JSON kept in the metadata database.
type storeManifest struct {
	Format  string        `json:"format"`
	Store   string        `json:"store"`
	K       int           `json:"data_shards"`
	M       int           `json:"parity_shards"`
	Volumes []volumeEntry `json:"volumes"`
	Created time.Time     `json:"created"`
}

type volumeEntry struct {
	ID   string `json:"id"`
	Path string `json:"path"` // where it was when last opened (informational)
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

func validID(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// decodeVolumeManifest parses and checks a volume manifest.
func decodeVolumeManifest(b []byte) (volumeManifest, error) {
	var v volumeManifest
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("volume manifest is not valid JSON: %w", err)
	}
	switch {
	case v.Format != volumeFormat:
		return v, fmt.Errorf("volume manifest format %q, want %q", v.Format, volumeFormat)
	case !validID(v.Store) || !validID(v.Volume):
		return v, fmt.Errorf("volume manifest has malformed ids")
	case v.Volumes < 1 || v.Volumes > maxVolumes || v.Index < 0 || v.Index >= v.Volumes:
		return v, fmt.Errorf("volume manifest index %d of %d volumes is out of range", v.Index, v.Volumes)
	case v.K < 1 || v.M < 0 || v.K+v.M != v.Volumes:
		return v, fmt.Errorf("volume manifest shard counts k=%d m=%d do not match %d volumes", v.K, v.M, v.Volumes)
	}
	return v, nil
}

// decodeStoreManifest parses and checks the store manifest.
func decodeStoreManifest(b []byte) (storeManifest, error) {
	var s storeManifest
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("store manifest is not valid JSON: %w", err)
	}
	n := len(s.Volumes)
	switch {
	case s.Format != storeFormat:
		return s, fmt.Errorf("store manifest format %q, want %q", s.Format, storeFormat)
	case !validID(s.Store):
		return s, fmt.Errorf("store manifest has a malformed store id")
	case n < 1 || n > maxVolumes || s.K < 1 || s.M < 0 || s.K+s.M != n:
		return s, fmt.Errorf("store manifest shard counts k=%d m=%d do not match %d volumes", s.K, s.M, n)
	}
	for i, v := range s.Volumes {
		if !validID(v.ID) {
			return s, fmt.Errorf("store manifest volume %d has a malformed id", i)
		}
	}
	return s, nil
}

// probeVolume checks that path is a writable directory: it creates, syncs
// and removes a file there.
func probeVolume(fsys fsys, i int, path string) error {
	st, err := fsys.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &VolumeError{Index: i, Path: path, Reason: ErrVolumeMissing,
			Detail: "directory does not exist; mount the disk or create the directory (volumes are never created implicitly, so an unmounted disk is not mistaken for an empty one)"}
	}
	if err != nil {
		return &VolumeError{Index: i, Path: path, Reason: ErrVolumeMissing, Detail: "cannot stat", Err: err}
	}
	if !st.IsDir() {
		return &VolumeError{Index: i, Path: path, Reason: ErrVolumeMissing, Detail: "is not a directory; volume paths must name directories"}
	}
	probe := filepath.Join(path, fmt.Sprintf(".zgda-probe-%d", os.Getpid()))
	f, err := fsys.OpenFile(probe, true)
	if err == nil {
		_, err = f.WriteAt([]byte("probe"), 0)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if rerr := fsys.Remove(probe); err == nil {
			err = rerr
		}
	}
	if err != nil {
		return &VolumeError{Index: i, Path: path, Reason: ErrVolumeUnwritable,
			Detail: "cannot create and sync a file; check permissions, free space and that the disk is mounted read-write", Err: err}
	}
	return nil
}

// readVolumeManifest returns the manifest of a volume; ok is false when the
// directory has none (new or wiped).
func readVolumeManifest(fsys fsys, i int, path string) (volumeManifest, bool, error) {
	b, err := fsys.ReadFile(filepath.Join(path, volumeManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return volumeManifest{}, false, nil
	}
	if err != nil {
		return volumeManifest{}, false, &VolumeError{Index: i, Path: path, Reason: ErrVolumeUnwritable, Detail: "cannot read " + volumeManifestName, Err: err}
	}
	v, err := decodeVolumeManifest(b)
	if err != nil {
		return v, false, &VolumeError{Index: i, Path: path, Reason: ErrVolumeMismatch,
			Detail: volumeManifestName + " is damaged; if this disk belongs to the store, restore the file, otherwise empty the directory and open with Volumes.AllowReplace", Err: err}
	}
	return v, true, nil
}

// hasSegments reports whether a volume directory holds any segment file.
func hasSegments(fsys fsys, path string) bool {
	names, err := fsys.List(filepath.Join(path, segmentsDirName))
	if err != nil {
		return false
	}
	for _, name := range names {
		if _, ok := parseSegmentName(name); ok {
			return true
		}
	}
	return false
}

func initVolume(fsys fsys, path string, m volumeManifest) error {
	if err := fsys.MkdirAll(filepath.Join(path, segmentsDirName)); err != nil {
		return err
	}
	if err := fsys.SyncDir(path); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return writeFileSync(fsys, filepath.Join(path, volumeManifestName), append(b, '\n'))
}

// volumeSet is the outcome of checking the configured volumes.
type volumeSet struct {
	manifest storeManifest
	replaced []int          // volumes adopted as replacements (empty, to be rebuilt)
	offline  []*VolumeError // volumes missing or failing (at most m), opened without
	created  bool           // a new store
}

// checkVolumes reconciles the configured volume paths with what is on disk.
// stored is the store manifest from the metadata database, nil for a new
// database.
//
// An existing store opens with up to m volumes missing or failing (no
// directory, not writable, I/O errors, no answer, no manifest without
// AllowReplace): they are returned as offline. A volume that is there but
// wrong (another store's, out of order) is always an error.
func checkVolumes(fsys fsys, cfg *Config, stored *storeManifest, now time.Time, probe func(i int, path string) error) (volumeSet, error) {
	paths := cfg.Volumes.Paths
	n := len(paths)
	var offline []*VolumeError
	bad := make([]bool, n)
	fault := func(i int, err error) error {
		var ve *VolumeError
		if stored == nil || !errors.As(err, &ve) || errors.Is(err, ErrVolumeMismatch) {
			return err
		}
		offline = append(offline, ve)
		bad[i] = true
		return nil
	}
	for i, p := range paths {
		if err := probe(i, p); err != nil {
			if err := fault(i, err); err != nil {
				return volumeSet{}, err
			}
		}
	}
	found := make([]volumeManifest, n)
	has := make([]bool, n)
	for i, p := range paths {
		if bad[i] {
			continue
		}
		v, ok, err := readVolumeManifest(fsys, i, p)
		if err != nil {
			if err := fault(i, err); err != nil {
				return volumeSet{}, err
			}
			continue
		}
		found[i], has[i] = v, ok
	}

	if stored == nil {
		return createVolumes(fsys, cfg, found, has, now)
	}

	sm := *stored
	if len(sm.Volumes) != n {
		return volumeSet{}, &VolumeError{Index: -1, Path: cfg.Dir, Reason: ErrVolumeMismatch,
			Detail: fmt.Sprintf("the store was created with %d volumes (k=%d data, m=%d parity) and the configuration lists %d; list the original %d volume directories in their original order",
				len(sm.Volumes), sm.K, sm.M, n, len(sm.Volumes))}
	}
	if k, m := cfg.Volumes.shards(); cfg.Volumes.Parity != 0 && (k != sm.K || m != sm.M) {
		return volumeSet{}, &VolumeError{Index: -1, Path: cfg.Dir, Reason: ErrVolumeMismatch,
			Detail: fmt.Sprintf("the store uses k=%d m=%d but the configuration asks for parity %d; parity is fixed at creation, set Volumes.Parity to 0 or %d", sm.K, sm.M, cfg.Volumes.Parity, sm.M)}
	}
	byID := map[string]int{}
	for i, v := range sm.Volumes {
		byID[v.ID] = i
	}
	var missing []int
	for i, p := range paths {
		if bad[i] {
			continue
		}
		if !has[i] {
			if !cfg.Volumes.AllowReplace {
				offline = append(offline, &VolumeError{Index: i, Path: p, Reason: ErrVolumeMissing,
					Detail: fmt.Sprintf("has no %s; if the disk failed to mount, mount it (it is retried); if it was replaced by an empty disk, open with Volumes.AllowReplace (zgda storage --allow-replace) to rebuild it", volumeManifestName)})
				bad[i] = true
				continue
			}
			missing = append(missing, i)
			continue
		}
		v := found[i]
		if v.Store != sm.Store {
			return volumeSet{}, &VolumeError{Index: i, Path: p, Reason: ErrVolumeMismatch,
				Detail: fmt.Sprintf("belongs to another store (%s, volume %d of %d), not this one (%s); check the path, or empty the directory and open with Volumes.AllowReplace to reuse the disk", v.Store, v.Index, v.Volumes, sm.Store)}
		}
		if j, ok := byID[v.Volume]; !ok || j != i || v.Index != i {
			where := "an unknown volume of this store"
			if ok {
				where = fmt.Sprintf("volume %d of this store (was at %s)", j, sm.Volumes[j].Path)
			}
			return volumeSet{}, &VolumeError{Index: i, Path: p, Reason: ErrVolumeMismatch,
				Detail: fmt.Sprintf("holds %s but is configured as volume %d; volumes must keep their order: %s", where, i, expectedOrder(sm))}
		}
	}
	if len(offline)+len(missing) > sm.M {
		var list []string
		for _, ve := range offline {
			list = append(list, fmt.Sprintf("%d (%s: %s)", ve.Index, ve.Path, ve.Detail))
		}
		for _, i := range missing {
			list = append(list, fmt.Sprintf("%d (%s: empty, to be replaced)", i, paths[i]))
		}
		first := 0
		if len(offline) > 0 {
			first = offline[0].Index
		} else {
			first = missing[0]
		}
		return volumeSet{}, &VolumeError{Index: first, Path: paths[first], Reason: ErrVolumeMismatch,
			Detail: fmt.Sprintf("%d volumes are missing, failing or being replaced (%s) but only %d can be rebuilt; mount or restore the original disks", len(offline)+len(missing), strings.Join(list, ", "), sm.M)}
	}
	if len(missing) > 0 {
		for _, i := range missing {
			if hasSegments(fsys, paths[i]) {
				return volumeSet{}, &VolumeError{Index: i, Path: paths[i], Reason: ErrVolumeMismatch,
					Detail: "has segment files but no " + volumeManifestName + "; restore the manifest or empty the directory before replacing"}
			}
			id := newID()
			if err := initVolume(fsys, paths[i], volumeManifest{Format: volumeFormat, Store: sm.Store, Volume: id, Index: i,
				Volumes: n, K: sm.K, M: sm.M, Created: now.UTC()}); err != nil {
				return volumeSet{}, &VolumeError{Index: i, Path: paths[i], Reason: ErrVolumeUnwritable, Detail: "cannot initialize the replacement volume", Err: err}
			}
			sm.Volumes[i].ID = id
		}
	}
	for i, p := range paths {
		sm.Volumes[i].Path = p
		if bad[i] {
			continue
		}
		if err := fsys.MkdirAll(filepath.Join(p, segmentsDirName)); err != nil {
			return volumeSet{}, &VolumeError{Index: i, Path: p, Reason: ErrVolumeUnwritable, Detail: "cannot create the segments directory", Err: err}
		}
	}
	return volumeSet{manifest: sm, replaced: missing, offline: offline}, nil
}

func expectedOrder(sm storeManifest) string {
	parts := make([]string, len(sm.Volumes))
	for i, v := range sm.Volumes {
		parts[i] = fmt.Sprintf("%d=%s", i, v.Path)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// createVolumes initializes the volumes of a new store. If every volume
// already carries a manifest of one store and none has data, an earlier
// creation was interrupted after the volumes were written: it is finished.
func createVolumes(fsys fsys, cfg *Config, found []volumeManifest, has []bool, now time.Time) (volumeSet, error) {
	paths := cfg.Volumes.Paths
	n := len(paths)
	k, m := cfg.Volumes.shards()
	storeID := ""
	for i, p := range paths {
		if !has[i] {
			if hasSegments(fsys, p) {
				return volumeSet{}, &VolumeError{Index: i, Path: p, Reason: ErrVolumeMismatch,
					Detail: "has segment files but no " + volumeManifestName + " and the metadata directory is new; point Dir at this store's metadata or empty the volume"}
			}
			continue
		}
		v := found[i]
		if hasSegments(fsys, p) || v.Volumes != n || v.Index != i || (storeID != "" && v.Store != storeID) {
			return volumeSet{}, &VolumeError{Index: i, Path: p, Reason: ErrVolumeMismatch,
				Detail: fmt.Sprintf("belongs to store %s (volume %d of %d) but the metadata directory %s is new; point Dir at that store's metadata, or empty the volume to start a new store", v.Store, v.Index, v.Volumes, cfg.Dir)}
		}
		storeID = v.Store
	}
	if storeID == "" {
		storeID = newID()
	}
	sm := storeManifest{Format: storeFormat, Store: storeID, K: k, M: m, Created: now.UTC()}
	for i, p := range paths {
		id := newID()
		if has[i] {
			id = found[i].Volume
			if found[i].K != k || found[i].M != m {
				return volumeSet{}, &VolumeError{Index: i, Path: p, Reason: ErrVolumeMismatch,
					Detail: fmt.Sprintf("was initialized with k=%d m=%d, the configuration asks for k=%d m=%d; empty the volume", found[i].K, found[i].M, k, m)}
			}
		} else if err := initVolume(fsys, p, volumeManifest{Format: volumeFormat, Store: storeID, Volume: id, Index: i,
			Volumes: n, K: k, M: m, Created: now.UTC()}); err != nil {
			return volumeSet{}, &VolumeError{Index: i, Path: p, Reason: ErrVolumeUnwritable, Detail: "cannot initialize the volume", Err: err}
		}
		sm.Volumes = append(sm.Volumes, volumeEntry{ID: id, Path: p})
	}
	return volumeSet{manifest: sm, created: true}, nil
}
