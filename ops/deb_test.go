package ops

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/internal/peertest"
)

// requireRoot fails under CI=true and skips elsewhere when the test cannot
// create namespaces and mounts.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the package test needs root (dpkg -i in a private mount namespace)")
	}
	t.Skip("the package test needs root")
}

// buildDebs builds the binary once and two packages from it, an old and a
// new version, with ops/deb/build.sh (what make deb runs).
func buildDebs(t *testing.T) (old, new string) {
	t.Helper()
	peertest.RequirePeer(t, "dpkg-deb")
	dir := t.TempDir()
	bin := filepath.Join(dir, "obzvon")
	if out, err := exec.Command("go", "build", "-trimpath", "-buildmode=pie", "-ldflags", "-s -w", "-o", bin, "../cmd/obzvon").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	build := func(version string) string {
		out, err := exec.Command("sh", "deb/build.sh", bin, version, dir).CombinedOutput()
		if err != nil {
			t.Fatalf("deb/build.sh %s: %v\n%s", version, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	return build("0.1.0"), build("0.2.0")
}

// The package installs, upgrades with a drain, and removes cleanly, on a
// throwaway overlay of this machine (deb/install-test.sh says how); lintian
// finds nothing to complain about.
func TestDebianPackage(t *testing.T) {
	requireRoot(t)
	unshare := peertest.RequirePeer(t, "unshare")
	peertest.RequirePeer(t, "dpkg")
	old, new := buildDebs(t)
	if !strings.HasSuffix(old, "obzvon_0.1.0_amd64.deb") && !strings.Contains(old, "obzvon_0.1.0_") {
		t.Fatalf("built %s, want obzvon_0.1.0_ARCH.deb", old)
	}
	contents, err := exec.Command("dpkg-deb", "--contents", old).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"./usr/bin/obzvon", "./lib/systemd/system/obzvon.service", "./etc/obzvon/obzvon.toml"} {
		if !strings.Contains(string(contents), want) {
			t.Errorf("package lacks %s:\n%s", want, contents)
		}
	}

	work := t.TempDir()
	cmd := exec.Command(unshare, "--mount", "--net", "--fork", "sh", "deb/install-test.sh", work, old, new)
	out, err := cmd.CombinedOutput()
	t.Logf("install-test.sh:\n%s", out)
	if err != nil {
		t.Fatalf("install-test.sh: %v", err)
	}
	if n := strings.Count("\n"+string(out), "\nok: "); n < 8 {
		t.Errorf("install-test.sh passed %d checks, want 8", n)
	}
	// The host is untouched: everything happened in the namespace.
	if _, err := os.Stat("/usr/bin/obzvon"); err == nil {
		if b, _ := exec.Command("dpkg-query", "-W", "obzvon").CombinedOutput(); strings.Contains(string(b), "0.2.0") {
			t.Errorf("the package test left obzvon installed on the host")
		}
	}

	lintian, err := exec.LookPath("lintian")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("lintian is not installed (make test-deps installs it)")
		}
		t.Skip("lintian is not installed")
	}
	lout, err := exec.Command(lintian, "--fail-on", "error,warning", "--suppress-tags-from-file", "deb/lintian-suppressed", new).CombinedOutput()
	if err != nil {
		t.Errorf("lintian %s: %v\n%s", filepath.Base(new), err, lout)
	}
}
