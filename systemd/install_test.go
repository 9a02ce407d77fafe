package systemd

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// makeInstall runs `make install` of the repository into a fresh DESTDIR,
// building the binary into the temp dir too (not into the source tree), and
// returns DESTDIR.
func makeInstall(t *testing.T, vars ...string) string {
	t.Helper()
	mk := requireTool(t, "make", "make")
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "root")
	args := append([]string{"-C", "..", "install", "DESTDIR=" + dest, "BIN=" + filepath.Join(tmp, "obzvon")}, vars...)
	out, err := exec.Command(mk, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dest
}

// mode returns the permission bits of path, failing the test if it is missing.
func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("installed file: %v", err)
	}
	return fi.Mode().Perm()
}

func TestMakeInstall(t *testing.T) {
	src := filepath.Join(t.TempDir(), "obzvon.toml")
	const config = "# test config\n"
	if err := os.WriteFile(src, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := makeInstall(t, "CONFIG_SRC="+src)

	files := []struct {
		path string // under DESTDIR
		src  string // in the repository, "" for the binary
		mode fs.FileMode
	}{
		{"/usr/bin/obzvon", "", 0o755},
		{"/lib/systemd/system/obzvon.service", "systemd/obzvon.service", 0o644},
		{"/usr/lib/sysusers.d/obzvon.conf", "systemd/obzvon.sysusers", 0o644},
		{"/usr/lib/tmpfiles.d/obzvon.conf", "systemd/obzvon.tmpfiles", 0o644},
		{"/etc/obzvon/obzvon.toml", src, 0o640},
	}
	prompts, err := filepath.Glob("../prompts/ru/*.wav")
	if err != nil || len(prompts) == 0 {
		t.Fatalf("no prompts in ../prompts/ru: %v", err)
	}
	for _, p := range prompts {
		files = append(files, struct {
			path, src string
			mode      fs.FileMode
		}{"/usr/share/obzvon/prompts/ru/" + filepath.Base(p), strings.TrimPrefix(p, "../"), 0o644})
	}
	for _, f := range files {
		got := filepath.Join(dest, f.path)
		if m := mode(t, got); m != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, m, f.mode)
		}
		if f.src == "" {
			continue
		}
		if !filepath.IsAbs(f.src) {
			f.src = filepath.Join("..", f.src)
		}
		want, err := os.ReadFile(f.src)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(got); err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s differs from %s (err %v)", f.path, f.src, err)
		}
	}

	// The installed binary is the obzvon command.
	out, err := exec.Command(filepath.Join(dest, "usr/bin/obzvon"), "version").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Errorf("installed obzvon version: %v, output %q", err, out)
	}
}

// TestMakeInstallPrefix: the unit starts the binary where PREFIX put it.
func TestMakeInstallPrefix(t *testing.T) {
	dest := makeInstall(t, "PREFIX=/usr/local")
	if m := mode(t, filepath.Join(dest, "usr/local/bin/obzvon")); m != 0o755 {
		t.Errorf("/usr/local/bin/obzvon: mode %v, want 0755", m)
	}
	unit := parseUnit(t, filepath.Join(dest, "lib/systemd/system/obzvon.service"))
	want := "/usr/local/bin/obzvon serve --config /etc/obzvon/obzvon.toml"
	if got := unit["Service"]["ExecStart"]; len(got) != 1 || got[0] != want {
		t.Errorf("with PREFIX=/usr/local: ExecStart = %q, want [%q]", got, want)
	}
}

// TestMakeInstallConfig: an operator's config is never overwritten, and no
// config is installed when the source does not exist.
func TestMakeInstallConfig(t *testing.T) {
	t.Run("missing source", func(t *testing.T) {
		dest := makeInstall(t, "CONFIG_SRC="+filepath.Join(t.TempDir(), "none.toml"))
		if _, err := os.Stat(filepath.Join(dest, "etc/obzvon/obzvon.toml")); !os.IsNotExist(err) {
			t.Errorf("config installed from a missing source: stat error %v, want not-exist", err)
		}
	})
	t.Run("existing config kept", func(t *testing.T) {
		mk := requireTool(t, "make", "make")
		tmp := t.TempDir()
		dest := filepath.Join(tmp, "root")
		mine := filepath.Join(dest, "etc/obzvon/obzvon.toml")
		if err := os.MkdirAll(filepath.Dir(mine), 0o750); err != nil {
			t.Fatal(err)
		}
		const operator = "# the operator's own\n"
		if err := os.WriteFile(mine, []byte(operator), 0o640); err != nil {
			t.Fatal(err)
		}
		src := filepath.Join(tmp, "default.toml")
		if err := os.WriteFile(src, []byte("# default\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(mk, "-C", "..", "install", "DESTDIR="+dest, "BIN="+filepath.Join(tmp, "obzvon"), "CONFIG_SRC="+src).CombinedOutput()
		if err != nil {
			t.Fatalf("make install: %v\n%s", err, out)
		}
		if b, _ := os.ReadFile(mine); string(b) != operator {
			t.Errorf("make install over an existing config: it now holds %q, want %q", b, operator)
		}
	})
}

// TestSysusersTmpfiles applies the installed sysusers and tmpfiles snippets
// to the DESTDIR root, as the package's postinst does on a real system, and
// checks the user and the directories they make.
func TestSysusersTmpfiles(t *testing.T) {
	sysusers := requireTool(t, "systemd-sysusers", "systemd")
	tmpfiles := requireTool(t, "systemd-tmpfiles", "systemd")
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
		t.Skip("creating files owned by another user needs root (CI runs as root)")
	}
	src := filepath.Join(t.TempDir(), "obzvon.toml")
	if err := os.WriteFile(src, []byte("# test config\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := makeInstall(t, "CONFIG_SRC="+src)
	if err := os.MkdirAll(filepath.Join(dest, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{sysusers, "--root=" + dest},
		{tmpfiles, "--root=" + dest, "--create"},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}

	uid, gid, home := lookupUser(t, filepath.Join(dest, "etc/passwd"), "obzvon")
	if home != "/var/lib/obzvon" {
		t.Errorf("user obzvon: home %q, want /var/lib/obzvon", home)
	}
	if uid == 0 || gid == 0 {
		t.Fatalf("user obzvon: uid %d gid %d, want a non-root system user", uid, gid)
	}
	tests := []struct {
		path     string
		mode     fs.FileMode
		uid, gid int
	}{
		{"/var/lib/obzvon", 0o750, uid, gid},
		{"/var/lib/obzvon/journal", 0o750, uid, gid},
		{"/var/lib/obzvon/recordings", 0o750, uid, gid},
		{"/etc/obzvon", 0o750, 0, gid},
		{"/etc/obzvon/obzvon.toml", 0o640, 0, gid},
	}
	for _, tt := range tests {
		fi, err := os.Stat(filepath.Join(dest, tt.path))
		if err != nil {
			t.Errorf("after tmpfiles: %v", err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != tt.mode || int(st.Uid) != tt.uid || int(st.Gid) != tt.gid {
			t.Errorf("%s: mode %v owner %d:%d, want %v %d:%d", tt.path, fi.Mode().Perm(), st.Uid, st.Gid, tt.mode, tt.uid, tt.gid)
		}
	}
}

// lookupUser finds name in a passwd file and returns its uid, gid and home.
func lookupUser(t *testing.T, passwd, name string) (uid, gid int, home string) {
	t.Helper()
	f, err := os.Open(passwd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) != 7 || fields[0] != name {
			continue
		}
		uid, err1 := strconv.Atoi(fields[2])
		gid, err2 := strconv.Atoi(fields[3])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: bad entry %q", passwd, sc.Text())
		}
		return uid, gid, fields[5]
	}
	t.Fatalf("%s: no user %q", passwd, name)
	return 0, 0, ""
}
