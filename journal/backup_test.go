package journal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/obzvon/obzvon/lists"
)

// fill writes some of every record kind.
func fill(t *testing.T, j *Journal) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := j.LoadRegistry(ctx, adm, strings.NewReader(miniRegistry), lists.FormatCSV, "mini.csv"); err != nil {
		t.Fatal(err)
	}
	if _, err := j.AddAccount(ctx, adm, NewAccount{Login: "ivanova", DisplayName: "Иванова", Roles: []Role{RoleOperatorL1}, Password: "пароль-пароль", SIPSecret: "kx7-backup-sip", SIPRealm: "r"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		a := card("+7900000000"+string(rune('0'+i%10)), "")
		if err := j.CreateAppeal(ctx, op1, a); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := j.Move(ctx, op1, a.ID, Step{Move: MoveClose, Resolution: ResolutionExplained, Comment: "ok"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.PutCall(ctx, &CallRecord{Direction: "inbound", Arrived: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.AddAttachment(ctx, op1, mustFirstAppeal(t, j), Attachment{FileName: "a.pdf", DocNumber: "1", Registered: "2026-01-01"}, bytes.Repeat([]byte("x"), 2<<20)); err != nil {
		t.Fatal(err)
	}
}

func mustFirstAppeal(t *testing.T, j *Journal) string {
	l, err := j.Appeals(context.Background(), adm, nil, AppealFilter{Limit: 1})
	if err != nil || len(l) == 0 {
		t.Fatalf("no appeal: %v", err)
	}
	return l[0].ID
}

// dump returns every key and value of the journal except the audit space
// and sequences (which differ by design after a restore: the backup's own
// audit entry, released leases).
func dump(t *testing.T, j *Journal) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := j.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := string(it.Item().Key())
			if strings.HasPrefix(k, spaceSeq) || strings.Contains(k, "audit") || strings.HasPrefix(k, spaceIndex+"au_") {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			m[k] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	j, err := Open(DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	fill(t, j)
	var buf bytes.Buffer
	if err := j.Backup(ctx, adm, &buf); err != nil {
		t.Fatalf("Backup() = %v", err)
	}
	if err := j.Backup(ctx, op1, &bytes.Buffer{}); !errors.Is(err, ErrDenied) {
		t.Errorf("Backup by operator = %v, want ErrDenied", err)
	}
	want := dump(t, j)

	dir := filepath.Join(t.TempDir(), "restored")
	if err := Restore(ctx, bytes.NewReader(buf.Bytes()), dir, DefaultOptions("")); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	r, err := Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := dump(t, r)
	if len(got) != len(want) {
		t.Errorf("restored %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("restored key %q differs", k)
		}
	}
	mustHealthy(t, r)
	// New appeals in the restored journal get fresh numbers.
	a := card("", "")
	if err := r.CreateAppeal(ctx, op1, a); err != nil || a.Number <= "2026-000020" {
		t.Errorf("appeal after restore = %s, %v; want a number after 2026-000020", a.Number, err)
	}
	if err := Restore(ctx, bytes.NewReader(buf.Bytes()), dir, DefaultOptions("")); !errors.Is(err, ErrInvalid) {
		t.Errorf("Restore into a non-empty dir = %v, want ErrInvalid", err)
	}
	if err := Restore(ctx, strings.NewReader("garbage"), t.TempDir(), DefaultOptions("")); !errors.Is(err, ErrInvalid) {
		t.Errorf("Restore(garbage) = %v, want ErrInvalid", err)
	}
	if _, err := r.RunGC(); err != nil {
		t.Errorf("RunGC() = %v", err)
	}
}

func TestEncryptionAtRest(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "journal")
	key1, key2 := filepath.Join(tmp, "k1"), filepath.Join(tmp, "k2")
	os.WriteFile(key1, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)      // hex, 32 bytes
	os.WriteFile(key2, []byte("0123456789abcdef0123456789abcdef"), 0o600) // raw 32 bytes

	o := DefaultOptions(dir)
	o.EncryptionKeyFile = key1
	j, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	// An ASCII marker without repeats survives Badger's Snappy
	// compression, so a plain journal shows it on disk (checked below).
	const secret, marker = "Уникальнаяфамилия", "QZXJW-marker-7781"
	reg := "Фамилия;Имя;Дата рождения;ЕНП;Адрес\n" + secret + ";Анна;01.01.1990;1234567890123456;" + marker + "\n"
	onDisk := func(dir string) bool {
		found := false
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b, _ := os.ReadFile(p)
				found = found || bytes.Contains(b, []byte(marker))
			}
			return nil
		})
		return found
	}
	plainDir := filepath.Join(tmp, "plain")
	pj, err := Open(DefaultOptions(plainDir))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pj.LoadRegistry(ctx, adm, strings.NewReader(reg), lists.FormatCSV, "x.csv"); err != nil {
		t.Fatal(err)
	}
	pj.Close()
	if !onDisk(plainDir) {
		t.Fatal("the marker is not visible in a plain journal: the check below would prove nothing")
	}
	if _, _, err := j.LoadRegistry(ctx, adm, strings.NewReader(reg), lists.FormatCSV, "x.csv"); err != nil {
		t.Fatal(err)
	}
	j.Close()

	if onDisk(dir) {
		t.Error("the encrypted journal holds the record in clear")
	}

	if _, err := Open(DefaultOptions(dir)); err == nil {
		t.Fatal("Open without the key succeeded")
	}
	o.EncryptionKeyFile = key2
	if _, err := Open(o); err == nil {
		t.Fatal("Open with the wrong key succeeded")
	}

	if err := RotateKey(dir, key1, key2); err != nil {
		t.Fatalf("RotateKey() = %v", err)
	}
	j, err = Open(o)
	if err != nil {
		t.Fatalf("Open with the new key after rotation = %v", err)
	}
	defer j.Close()
	got, err := j.SearchPersons(ctx, op1, PersonQuery{Surname: "уник"})
	if err != nil || len(got) != 1 || got[0].Surname != secret {
		t.Fatalf("search after rotation = %+v, %v", got, err)
	}

	bad := filepath.Join(tmp, "bad")
	os.WriteFile(bad, []byte("short"), 0o600)
	if _, err := ReadKeyFile(bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReadKeyFile(5 bytes) = %v, want ErrInvalid", err)
	}
}

// TestValueLogGC writes attachments large enough to live in the value
// log, runs GC by hand and on a schedule, and checks the schedule stops on
// Close (goleak in TestMain catches a loop left running). Whether GC
// reclaims space is Badger's business and not asserted here.
func TestValueLogGC(t *testing.T) {
	o := DefaultOptions(t.TempDir())
	o.GCInterval = time.Millisecond
	j, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if j.gcDone == nil {
		t.Fatal("Open did not start the GC loop")
	}
	ctx := context.Background()
	a := card("", "")
	if err := j.CreateAppeal(ctx, op1, a); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := j.AddAttachment(ctx, op1, a.ID, Attachment{FileName: "scan.pdf", DocNumber: "1", Registered: "2026-01-01"}, bytes.Repeat([]byte{byte(i)}, 3<<20)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.RunGC(); err != nil {
		t.Errorf("RunGC() = %v", err)
	}
	if lsm, vlog := j.Sizes(); lsm < 0 || vlog < 0 {
		t.Errorf("Sizes() = %d, %d", lsm, vlog)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("Close with GC running = %v", err)
	}
}
