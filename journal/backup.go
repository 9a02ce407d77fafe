package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// backupMagic starts every backup file, so restore refuses other files.
const backupMagic = "OBZVON-JOURNAL-BACKUP 1\n"

// Backup writes a consistent full copy of the journal to w while it stays
// online (a snapshot at the moment Backup starts). The backup is not
// encrypted even when the journal is: keep backup files as carefully as
// the journal. The backup is audited.
func (j *Journal) Backup(ctx context.Context, who Actor, w io.Writer) error {
	if !Allowed(who.Role, ActionRead, ResourceJournal) {
		return fmt.Errorf("backup: %w: role %s", ErrDenied, who.Role)
	}
	if err := j.check(ctx, false); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(backupMagic); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := j.db.Backup(bw, 0); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return j.auditRead(ctx, who, "backup", "journal:", "", "")
}

// Restore loads a backup made by Backup into dir, which must be empty or
// not exist, creating a journal there with opts (opts.Dir is replaced by
// dir; set EncryptionKeyFile to restore into an encrypted journal).
// Migrations run afterwards, so an older backup comes up to date.
func Restore(ctx context.Context, r io.Reader, dir string, opts Options) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("restore: %w: directory %s is not empty", ErrInvalid, dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	head := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != backupMagic {
		return fmt.Errorf("restore: %w: not an obzvon journal backup", ErrInvalid)
	}
	opts.Dir, opts.InMemory, opts.ReadOnly = dir, false, false
	opts.migrations = []migration{} // load first, migrate after
	j, err := Open(opts)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := j.db.Load(br, 256); err != nil {
		j.Close()
		return fmt.Errorf("restore: load: %w", err)
	}
	if err := j.Close(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	opts.migrations = nil
	j, err = Open(opts)
	if err != nil {
		return fmt.Errorf("restore: reopen: %w", err)
	}
	return j.Close()
}

// Sizes reports the space the journal's LSM tree and value log take on
// disk now, in bytes (see DiskUsage for all the parts).
func (j *Journal) Sizes() (lsm, vlog int64) {
	u := j.DiskUsage()
	return u.LSM, u.ValueLog
}

// RunGC runs Badger's value-log garbage collection until it finds nothing
// worth rewriting (at most 16 files per call). It is what the scheduled GC
// runs; call it after deleting much.
func (j *Journal) RunGC() (rewritten int, err error) {
	if j.opts.InMemory || j.opts.ReadOnly {
		return 0, nil
	}
	for rewritten < 16 {
		err := j.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return rewritten, nil
		}
		if err != nil {
			return rewritten, fmt.Errorf("value log gc: %w", err)
		}
		rewritten++
	}
	return rewritten, nil
}

// StartGC runs RunGC every interval until Close. Open calls it with
// Options.GCInterval; later calls do nothing.
func (j *Journal) StartGC(interval time.Duration) {
	if interval <= 0 || j.opts.InMemory || j.opts.ReadOnly || j.gcDone != nil {
		return
	}
	j.gcDone = make(chan struct{})
	go func() {
		defer close(j.gcDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-j.closed:
				return
			case <-t.C:
				n, err := j.RunGC()
				if err != nil {
					j.log.Warn("journal gc", "err", err, "hint", "value-log GC retries at the next interval; if it keeps failing, check the disk and run obzvon journal check")
				} else if n > 0 {
					j.log.Debug("journal gc", "rewritten", n)
				}
			}
		}
	}()
}

// RotateKey re-encrypts the journal's data-key registry in dir (closed)
// from the key in oldKeyFile to the key in newKeyFile. Badger encrypts
// data with data keys that are themselves encrypted with the master key
// in the registry, so rotation rewrites only the registry: quick, and the
// data files stay as they are. Afterwards open with the new key file.
// An empty oldKeyFile encrypts the registry of a plain journal (whose old
// data then stays unencrypted until compacted away); an empty newKeyFile
// decrypts it.
func RotateKey(dir, oldKeyFile, newKeyFile string) error {
	var oldKey, newKey []byte
	var err error
	if oldKeyFile != "" {
		if oldKey, err = ReadKeyFile(oldKeyFile); err != nil {
			return fmt.Errorf("rotate key: %w", err)
		}
	}
	if newKeyFile != "" {
		if newKey, err = ReadKeyFile(newKeyFile); err != nil {
			return fmt.Errorf("rotate key: %w", err)
		}
	}
	opt := badger.KeyRegistryOptions{Dir: dir, ReadOnly: true, EncryptionKey: oldKey, EncryptionKeyRotationDuration: 10 * 24 * time.Hour}
	kr, err := badger.OpenKeyRegistry(opt)
	if err != nil {
		return fmt.Errorf("rotate key: open key registry with the old key: %w", err)
	}
	defer kr.Close()
	opt.EncryptionKey = newKey
	if err := badger.WriteKeyRegistry(kr, opt); err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	return nil
}
