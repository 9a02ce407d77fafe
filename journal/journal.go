package journal

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Sentinel errors of the journal. Callers test them with errors.Is.
var (
	// ErrNotFound is returned when the record asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("journal closed")
	// ErrReadOnly is returned by writes on a journal opened read-only.
	ErrReadOnly = errors.New("journal opened read-only")
	// ErrInvalid is wrapped by errors about a record that fails validation.
	ErrInvalid = errors.New("invalid record")
	// ErrIllegalMove is wrapped by *MoveError: an appeal workflow move that
	// the appeal's status or the actor's role does not allow.
	ErrIllegalMove = errors.New("illegal move")
	// ErrDenied is returned when the actor's role does not allow the action.
	ErrDenied = errors.New("access denied")
	// ErrConflict is returned when a write loses a race with another write
	// (a stale version, a unique key taken).
	ErrConflict = errors.New("conflict")
	// ErrNewerSchema is returned by Open when the directory was written by a
	// newer obzvon whose schema this binary does not know.
	ErrNewerSchema = errors.New("journal schema is newer than this binary")
)

// Options configure Open. Start from DefaultOptions.
type Options struct {
	// Dir is the journal directory (created if missing). Ignored when InMemory.
	Dir string
	// InMemory keeps everything in memory (tests); nothing survives Close.
	InMemory bool
	// SyncWrites makes every commit fsync before it is acknowledged.
	// DefaultOptions turns it on; concurrent commits share one fsync.
	SyncWrites bool
	// ReadOnly opens an existing journal without writing (CLI inspection
	// while no daemon runs). Migrations are not run; a journal that needs
	// one is refused.
	ReadOnly bool
	// EncryptionKeyFile, when set, names a file holding the AES key for
	// encryption at rest: 16, 24 or 32 raw bytes, or the same as hex text
	// (a trailing newline is ignored). It fits systemd LoadCredential.
	EncryptionKeyFile string
	// Logger receives the journal's and Badger's messages; nil discards them.
	Logger *slog.Logger
	// GCInterval is how often value-log garbage collection runs (see
	// StartGC); DefaultOptions sets 10 minutes, zero turns it off.
	GCInterval time.Duration

	// Now is the clock for record times (appeal creation, due dates,
	// audit); nil means time.Now. Tests of other packages inject one.
	Now func() time.Time
	// MaxTokenTTL is the longest a bearer token may live, and the life of
	// one created without a TTL; zero means DefaultMaxTokenTTL.
	MaxTokenTTL time.Duration

	// migrations overrides the schema migrations (tests only).
	migrations []migration
}

// DefaultOptions returns the options for a durable journal in dir:
// synced writes, value-log GC every 10 minutes, no encryption, no logging.
func DefaultOptions(dir string) Options {
	return Options{Dir: dir, SyncWrites: true, GCInterval: 10 * time.Minute}
}

// Journal is the durable store. It is safe for concurrent use.
type Journal struct {
	db     *badger.DB
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	ids    *idSource
	seqMu  sync.Mutex
	seqs   map[string]*badger.Sequence
	loadMu sync.Mutex

	stats struct{ writes, commits, fallbacks, writeErrors atomic.Uint64 }

	commitCh      chan *commitReq
	committerDone chan struct{}
	sendMu        sync.RWMutex

	closed chan struct{}
	once   sync.Once
	gcDone chan struct{}
}

// Open opens (creating if needed) the journal described by opts and runs
// the schema migrations it needs.
func Open(opts Options) (*Journal, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var bo badger.Options
	if opts.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else {
		if opts.Dir == "" {
			return nil, fmt.Errorf("open journal: %w: empty directory", ErrInvalid)
		}
		// Values of 100 bytes and more (records; index values are
		// shorter) go to the value log, written once; the LSM tree keeps
		// keys and pointers, so compaction rewrites far fewer bytes. With
		// the 16 MiB memtables a 1M registry loaded at 51k rows/s instead
		// of 27k (BenchmarkRegistryLoad). In memory Badger keeps values
		// in the LSM tree only.
		bo = badger.DefaultOptions(opts.Dir).WithValueThreshold(100)
	}
	bo = bo.WithSyncWrites(opts.SyncWrites).
		WithReadOnly(opts.ReadOnly).
		WithLogger(badgerLogger{log}).
		WithNumVersionsToKeep(1).
		// 16 MiB memtables keep the skiplist inserts of a bulk load in
		// the CPU cache (see the value threshold below).
		WithMemTableSize(16 << 20).
		// Registry loads write millions of keys in random order; with
		// Badger's defaults (5 level-0 tables, stall at 15, 2 MiB tables)
		// writers stall on compaction. These settings loaded a 1M registry
		// about twice as fast on the 2-core test machine (13–20k → 28–34k
		// rows/s) with the same search times once compaction settles.
		WithNumLevelZeroTables(20).
		WithNumLevelZeroTablesStall(60).
		WithBaseTableSize(8 << 20).
		WithBlockCacheSize(256 << 20).
		WithIndexCacheSize(32 << 20).
		WithMetricsEnabled(false)
	// Every level's tables are BaseTableSize (Badger doubles it per level
	// by default): a compaction keeps the tables it builds in memory,
	// several at once, and with 16 and 32 MiB tables in the lower levels
	// a 3M registry load peaked at 3.0 GB of anonymous memory (4.75 GB
	// RSS); with 8 MiB tables throughout, 1.3 GB (2.9 GB RSS), no slower.
	bo.TableSizeMultiplier = 1
	if opts.EncryptionKeyFile != "" {
		key, err := ReadKeyFile(opts.EncryptionKeyFile)
		if err != nil {
			return nil, fmt.Errorf("open journal: %w", err)
		}
		bo = bo.WithEncryptionKey(key).WithEncryptionKeyRotationDuration(10 * 24 * time.Hour)
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", opts.Dir, err)
	}
	j := &Journal{
		db:     db,
		opts:   opts,
		log:    log,
		now:    opts.Now,
		ids:    newIDSource(),
		seqs:   map[string]*badger.Sequence{},
		closed: make(chan struct{}),
	}
	if j.now == nil {
		j.now = time.Now
	}
	if err := j.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if !opts.ReadOnly {
		j.startCommitter()
	}
	j.StartGC(opts.GCInterval)
	return j, nil
}

// ReadKeyFile reads an encryption key: 16, 24 or 32 raw bytes, or their hex
// form (surrounding whitespace ignored). Any other length is an error.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read encryption key: %w", err)
	}
	if t := strings.TrimSpace(string(b)); len(t) == 32 || len(t) == 48 || len(t) == 64 {
		if k, err := hex.DecodeString(t); err == nil {
			return k, nil
		}
	}
	switch len(b) {
	case 16, 24, 32:
		return b, nil
	}
	return nil, fmt.Errorf("read encryption key %s: %w: want 16, 24 or 32 bytes (or 32, 48, 64 hex digits), got %d bytes",
		path, ErrInvalid, len(b))
}

// Close releases sequences, stops background work and closes the store.
// It is idempotent; calls after the first return nil.
func (j *Journal) Close() error {
	var err error
	j.once.Do(func() {
		j.sendMu.Lock()
		close(j.closed)
		j.sendMu.Unlock()
		j.stopCommitter()
		if j.gcDone != nil {
			<-j.gcDone
		}
		j.seqMu.Lock()
		for _, s := range j.seqs {
			if e := s.Release(); e != nil && err == nil {
				err = fmt.Errorf("release sequence: %w", e)
			}
		}
		j.seqs = nil
		j.seqMu.Unlock()
		if e := j.db.Close(); e != nil && err == nil {
			err = fmt.Errorf("close journal: %w", e)
		}
	})
	return err
}

func (j *Journal) check(ctx context.Context, write bool) error {
	select {
	case <-j.closed:
		return ErrClosed
	default:
	}
	if write && j.opts.ReadOnly {
		return ErrReadOnly
	}
	return ctx.Err()
}

func (j *Journal) view(ctx context.Context, fn func(txn *badger.Txn) error) error {
	if err := j.check(ctx, false); err != nil {
		return err
	}
	return j.db.View(fn)
}

// getJSON reads key into v; a missing key is ErrNotFound.
func getJSON(txn *badger.Txn, key []byte, v any) error {
	it, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return it.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

// badgerLogger sends Badger's messages to slog: its info chatter at debug.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error("badger: "+strings.TrimSpace(fmt.Sprintf(f, a...)), "hint", "a storage error of the journal: check the disk (df -h, journalctl -k), then obzvon journal check")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn("badger: "+strings.TrimSpace(fmt.Sprintf(f, a...)), "hint", "reported by the journal store; act if it repeats: check the disk, then obzvon journal check")
}
func (b badgerLogger) Infof(f string, a ...any) {
	b.l.Debug("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}
func (b badgerLogger) Debugf(f string, a ...any) {
	b.l.Debug("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}

var _ io.Closer = (*Journal)(nil)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
