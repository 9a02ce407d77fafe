package main

import (
	"strings"
	"testing"
)

func TestCatalogCommands(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, "catalog", "load", "--dir", dir, "--default")
	if err != nil || !strings.HasPrefix(out, "loaded 38 topics, 37 answer scripts") {
		t.Fatalf("catalog load --default = %q, %v", out, err)
	}
	out, err = runCLI(t, "catalog", "search", "--dir", dir, "--kind", "complaint", "взяли", "деньги")
	if err != nil || !strings.Contains(strings.Split(out, "\n")[1], "compl-paid-services") {
		t.Fatalf("catalog search = %q, %v; want compl-paid-services first", out, err)
	}
	if _, err := runCLI(t, "catalog", "load", "--dir", dir, t.TempDir()); err == nil || !strings.Contains(err.Error(), "topics.json") {
		t.Fatalf("catalog load of an empty dir = %v, want an error naming topics.json", err)
	}
}
