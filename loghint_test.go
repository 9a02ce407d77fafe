package obzvon_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every warning and error logged by obzvon's own code says what to do: it
// carries a "hint" attribute (the literal key or a constant named …Hint).
// This finds slog calls by shape — x.Warn/Error/WarnContext/ErrorContext
// with a string-literal message — in every non-test file.
func TestEveryWarningAndErrorLogHasAHint(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "var") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			msgAt := 0
			switch sel.Sel.Name {
			case "Warn", "Error":
			case "WarnContext", "ErrorContext":
				msgAt = 1
			default:
				return true
			}
			if len(call.Args) <= msgAt || !isStringMessage(call.Args[msgAt]) {
				return true
			}
			n++
			for _, a := range call.Args[msgAt+1:] {
				switch a := a.(type) {
				case *ast.BasicLit:
					if a.Value == `"hint"` {
						return true
					}
				case *ast.Ident:
					if strings.HasSuffix(a.Name, "Hint") {
						return true
					}
				}
			}
			t.Errorf("%s: %s log line without a hint saying what to do", fset.Position(call.Pos()), sel.Sel.Name)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 15 {
		t.Errorf("found %d warning and error log calls; the scan is broken", n)
	}
}

// isStringMessage reports whether e is a string literal or a concatenation
// starting with one, as a slog message is written here.
func isStringMessage(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.BasicLit:
			return x.Kind == token.STRING
		case *ast.BinaryExpr:
			e = x.X
		default:
			return false
		}
	}
}
