package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	if err := app.Run([]string{"obzvon", "version"}); err != nil {
		t.Fatalf("obzvon version: %v", err)
	}
	if got := strings.TrimSpace(out.String()); got != version {
		t.Errorf("obzvon version printed %q, want %q", got, version)
	}
}
