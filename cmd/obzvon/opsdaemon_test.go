package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// A port in use stops serve before it creates the data directory or
// opens the journal, and the message names the key, the port and what to do.
func TestServeChecksPortsBeforeCreatingData(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "obzvon.toml")
	cfg := fmt.Sprintf("[http]\nlisten = %q\n[sip]\nport = %d\n[data]\ndir = %q\n", busy.Addr().String(), peertest.FreePort(t), data)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := runCmd("serve", "--config", cfgPath)
	if code != exitFailure {
		t.Fatalf("serve with a busy HTTP port: exit %d, want %d; stderr %q", code, exitFailure, errs)
	}
	for _, want := range []string{"http.listen " + busy.Addr().String(), "address already in use", "ss -lnp", "no directory created"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("serve created %s before failing on the port (stat: %v)", data, err)
	}
}

// metricSum returns the sum of the samples of name in an exposition
// (every label set), and whether there was any.
func metricSum(exposition, name string) (float64, bool) {
	sum, found := 0.0, false
	for _, l := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(l, name+" ") && !strings.HasPrefix(l, name+"{") {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// The daemon's operations surface: readiness and build metrics, a journal
// size that is real and grows, the data file system, the built-in catalog
// on first start, and an unclean previous run detected after kill -9.
func TestServeOpsSurface(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	sipPort, httpPort := peertest.FreePort(t), peertest.FreePort(t)
	base := 19000 + (os.Getpid()%50)*20 // daemon tests' band, apart from TestServeDrainsOnSIGTERM's
	cfgPath := filepath.Join(dir, "obzvon.toml")
	cfg := fmt.Sprintf("[sip]\nport = %d\n[http]\nlisten = \"127.0.0.1:%d\"\n[rtp]\nport_min = %d\nport_max = %d\n[data]\ndir = %q\n[calls]\ndrain_timeout = \"1s\"\n",
		sipPort, httpPort, base, base+19, dir)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, cfgPath, httpPort)
	body := d.waitMetric(10*time.Second, "obzvon_ready 1", "obzvon_start_unclean 0", `obzvon_build_info{version=`,
		`obzvon_calls_rejected_total{reason="capacity"} 0`, "obzvon_journal_write_errors_total 0")
	if v, ok := metricSum(body, "obzvon_data_filesystem_avail_bytes"); !ok || v <= 0 {
		t.Errorf("obzvon_data_filesystem_avail_bytes = %v (present %v), want > 0", v, ok)
	}
	size0, _ := metricSum(body, "obzvon_journal_size_bytes")
	if size0 <= 0 {
		t.Errorf("obzvon_journal_size_bytes sums to %v on an open journal, want > 0", size0)
	}

	// The built-in catalog was loaded on this first start.
	jdir := filepath.Join(dir, "journal")
	out, err := exec.Command(bin, "catalog", "search", "--dir", jdir, "--json", "полис").CombinedOutput()
	if err != nil {
		t.Fatalf("catalog search: %v\n%s", err, out)
	}
	var hits journal.CatalogHits
	if err := json.Unmarshal(out, &hits); err != nil || len(hits.Topics)+len(hits.Scripts) == 0 {
		t.Errorf("catalog search полис on a fresh appliance = %s (%v), want the built-in catalog's topics", out, err)
	}

	// The size grows with writes: a registry of 20,000 persons through
	// the daemon.
	reg := filepath.Join(dir, "registry.csv")
	if out, err := exec.Command(bin, "registry", "generate", "--rows", "20000", reg).CombinedOutput(); err != nil {
		t.Fatalf("registry generate: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "registry", "load", "--dir", jdir, reg).CombinedOutput(); err != nil {
		t.Fatalf("registry load: %v\n%s", err, out)
	}
	_, body = httpGet(d.url + "/metrics")
	if size1, _ := metricSum(body, "obzvon_journal_size_bytes"); size1 < size0+1<<20 {
		t.Errorf("obzvon_journal_size_bytes %v after loading 20,000 persons, was %v: want at least 1 MB more", size1, size0)
	}

	// kill -9: the next start reports an unclean previous run.
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.wait(10 * time.Second)
	d = startDaemon(t, bin, cfgPath, httpPort)
	d.waitMetric(10*time.Second, "obzvon_start_unclean 1", "obzvon_ready 1")
	if !strings.Contains(d.logs.String(), "previous run did not stop cleanly") {
		t.Errorf("no warning about the unclean previous run in the log:\n%s", d.logs.String())
	}
	if strings.Contains(d.logs.String(), "loaded the built-in catalog") {
		t.Errorf("the built-in catalog was loaded again into a journal that has one:\n%s", d.logs.String())
	}
	// A clean stop: the start after it is clean, and obzvon_ready went to 0
	// while draining (checked through the log's drain line).
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.wait(20 * time.Second); err != nil {
		t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, d.logs.String())
	}
	d = startDaemon(t, bin, cfgPath, httpPort)
	d.waitMetric(10*time.Second, "obzvon_start_unclean 0")
}
