package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/config"
)

func TestLogFormats(t *testing.T) {
	emit := func(format string, journald bool) string {
		var b bytes.Buffer
		log := newLoggerTo(&b, config.Log{Level: "debug", Format: format}, journald)
		log = log.With("call_id", "c1")
		log.Debug("d")
		log.Info("ready", "port", 5060)
		log.Warn("slow", "hint", "check the disk")
		log.Error("failed", "error", "boom", "hint", "restart it")
		return b.String()
	}
	t.Run("journald text", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(emit("text", true)), "\n")
		want := []string{"<7>", "<6>", "<4>", "<3>"}
		if len(lines) != len(want) {
			t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
		}
		for i, l := range lines {
			if !strings.HasPrefix(l, want[i]+"level=") {
				t.Errorf("line %d = %q, want prefix %q then level=", i, l, want[i])
			}
			if strings.Contains(l, "time=") {
				t.Errorf("line %d = %q: journald stamps lines itself, want no time=", i, l)
			}
			if !strings.Contains(l, "call_id=c1") {
				t.Errorf("line %d = %q lost the logger's attributes", i, l)
			}
		}
		if !strings.Contains(lines[3], `hint="restart it"`) {
			t.Errorf("error line %q lacks its hint", lines[3])
		}
	})
	t.Run("plain text", func(t *testing.T) {
		out := emit("text", false)
		if !strings.HasPrefix(out, "time=") || strings.Contains(out, "<6>") {
			t.Errorf("text outside journald = %q, want time= first and no priority prefix", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		for _, l := range strings.Split(strings.TrimSpace(emit("json", true)), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Errorf("line %q is not JSON: %v", l, err)
			}
			if m["call_id"] != "c1" || m["msg"] == nil {
				t.Errorf("line %q lacks msg or call_id", l)
			}
		}
	})
}

func TestLogFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--log-format", "xml"}, `--log-format "xml": want text or json`},
		{[]string{"serve", "--log-level", "loud"}, `--log-level "loud": want debug, info, warn or error`},
	} {
		_, errs, code := runCmd(tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "Try: obzvon serve") {
			t.Errorf("obzvon %v: exit %d, stderr %q; want exit %d with %q and a Try: line", tc.args, code, errs, exitUsage, tc.want)
		}
	}
}
