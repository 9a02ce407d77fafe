package main

import (
	"slices"
	"strings"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	app := newApp()
	for _, tc := range []struct{ in, want string }{
		{"obzvon agent add ivanova --name X --role operator_l1 --json", "obzvon agent add --name X --role operator_l1 --json ivanova"},
		{"obzvon agent add --name X ivanova --no-sip", "obzvon agent add --name X --no-sip ivanova"},
		{"obzvon catalog search полис --json --kind complaint", "obzvon catalog search --json --kind complaint полис"},
		{"obzvon registry load list.csv --json --report=r.csv", "obzvon registry load --json --report=r.csv list.csv"},
		{"obzvon catalog search -- -x --json", "obzvon catalog search -- -x --json"},
		{"obzvon journal restore a.bak dir --key-file k", "obzvon journal restore --key-file k a.bak dir"},
		{"obzvon version", "obzvon version"},
		{"obzvon nosuch x --y", "obzvon nosuch x --y"},
		{"obzvon --help", "obzvon --help"},
		{"obzvon agent add x --name", "obzvon agent add --name x"}, // a missing value stays missing
	} {
		got := strings.Join(reorderArgs(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("reorderArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The flags after the login really reach the command.
	dir := t.TempDir()
	out, errs, code := runCmd("agent", "add", "ivanova", "--name", "Иванова Анна", "--role", "operator_l1", "--json", "--dir", dir)
	if code != 0 || !strings.HasPrefix(out, `{"login":"ivanova"`) {
		t.Fatalf("agent add LOGIN --flags: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if got := reorderArgs(app, []string{"obzvon"}); !slices.Equal(got, []string{"obzvon"}) {
		t.Errorf("reorderArgs(obzvon) = %q", got)
	}
}
