package journal

import (
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
)

// DiskUsage is the space the journal's files take on disk, in bytes of
// allocated blocks (what du counts, not the files' apparent sizes: Badger
// pre-allocates its memtable logs and value-log files as sparse files).
type DiskUsage struct {
	LSM      int64 // *.sst: the LSM tree's tables
	ValueLog int64 // *.vlog: values of 100 bytes and more
	WAL      int64 // *.mem: write-ahead logs of the memtables
	Other    int64 // MANIFEST, KEYREGISTRY, DISCARD and the rest
}

// Total is the sum of the parts.
func (u DiskUsage) Total() int64 { return u.LSM + u.ValueLog + u.WAL + u.Other }

// DiskUsage measures the journal directory now. Badger's own size
// counters are off (they are process-global expvars, updated once a
// minute), so the directory is what is measured: a few hundred files, a
// fraction of a millisecond. An in-memory journal uses no disk.
func (j *Journal) DiskUsage() DiskUsage {
	var u DiskUsage
	if j.opts.InMemory {
		return u
	}
	_ = filepath.WalkDir(j.opts.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // a file removed by compaction meanwhile, say
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		n := info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n = st.Blocks * 512
		}
		switch {
		case strings.HasSuffix(path, ".sst"):
			u.LSM += n
		case strings.HasSuffix(path, ".vlog"):
			u.ValueLog += n
		case strings.HasSuffix(path, ".mem"):
			u.WAL += n
		default:
			u.Other += n
		}
		return nil
	})
	return u
}

// WriteErrors returns how many writes failed in storage since Open:
// commits Badger could not make (disk full, I/O errors) and registry
// loads that failed to write. Writes refused as invalid, denied or in
// conflict are not counted.
func (j *Journal) WriteErrors() uint64 { return j.stats.writeErrors.Load() }

// noteWriteError counts a failed storage write and logs it once per call.
func (j *Journal) noteWriteError(op string, err error) {
	j.stats.writeErrors.Add(1)
	j.log.Error("journal write failed", "op", op, "err", err,
		"hint", "check free space and I/O errors on the journal's disk (df -h, journalctl -k); acknowledged data is safe")
}
