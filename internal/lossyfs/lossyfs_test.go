//go:build linux

package lossyfs

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mount(t *testing.T) (*FS, string, string) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	backing, mnt := t.TempDir(), t.TempDir()
	f, err := Mount(backing, mnt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Cut() })
	return f, backing, mnt
}

// TestCutDropsUnsynced writes three files through the mount, by write(2)
// and through a shared mapping; after the cut only what was fsynced or
// msynced is in the backing directory.
func TestCutDropsUnsynced(t *testing.T) {
	f, backing, mnt := mount(t)
	synced := bytes.Repeat([]byte("durable "), 1000)
	lost := bytes.Repeat([]byte("volatile"), 1000)

	a, err := os.Create(filepath.Join(mnt, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(synced); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(lost); err != nil { // after the sync: lost
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(mnt, "a"))
	if err != nil || !bytes.Equal(got, append(append([]byte{}, synced...), lost...)) {
		t.Fatalf("read back through the mount: %d bytes, %v; want what was written", len(got), err)
	}
	a.Close()

	// A shared mapping, as Badger writes its logs: one msynced, one not.
	for _, tc := range []struct {
		name string
		sync bool
	}{{"m_synced", true}, {"m_lost", false}} {
		m, err := os.OpenFile(filepath.Join(mnt, tc.name), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Truncate(3 * page); err != nil {
			t.Fatal(err)
		}
		b, err := syscall.Mmap(int(m.Fd()), 0, 3*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		copy(b[page:], synced)
		if tc.sync {
			if _, _, e := syscall.Syscall(syscall.SYS_MSYNC, uintptr(unsafePointer(b)), uintptr(len(b)), syscall.MS_SYNC); e != 0 {
				t.Fatal(e)
			}
		}
		syscall.Munmap(b)
		m.Close()
	}

	if err := f.Cut(); err != nil {
		t.Fatal(err)
	}
	st := f.Stats()
	t.Logf("stats: %+v", st)
	if got, _ := os.ReadFile(filepath.Join(backing, "a")); !bytes.Equal(got, synced) {
		t.Errorf("a after the cut: %d bytes, want the %d fsynced ones", len(got), len(synced))
	}
	if got, _ := os.ReadFile(filepath.Join(backing, "m_synced")); len(got) != 3*page || !bytes.Equal(got[page:page+len(synced)], synced) {
		t.Errorf("m_synced after the cut: %d bytes, want 3 pages with the msynced data", len(got))
	}
	if got, _ := os.ReadFile(filepath.Join(backing, "m_lost")); len(got) != 3*page || !bytes.Equal(got, make([]byte, 3*page)) {
		t.Errorf("m_lost after the cut: %d bytes, want 3 pages of zeros (the truncate is metadata, the data was never synced)", len(got))
	}
	if st.DroppedBytes == 0 {
		t.Errorf("the cut dropped nothing")
	}
}
