package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The CSP allows no inline script or style: no template or script may
// rely on one (an inline <script>, a style="" attribute, an onclick=""
// handler, a javascript: URL), or the browser refuses it and the page
// breaks silently.
func TestNoInlineScriptOrStyle(t *testing.T) {
	bad := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"inline script", regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)},
		{"style attribute", regexp.MustCompile(`\sstyle\s*=`)},
		{"style element", regexp.MustCompile(`<style[\s>]`)},
		{"inline event handler", regexp.MustCompile(`\son[a-z]+\s*=\s*["']`)},
		{"javascript: URL", regexp.MustCompile(`(?i)javascript:`)},
		{"external resource", regexp.MustCompile(`(?:src|href)\s*=\s*["']?(?:https?:)?//`)},
	}
	for _, root := range []fs.FS{templateFS, assetFS} {
		err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, ".svg") {
				return err
			}
			b, err := fs.ReadFile(root, p)
			if err != nil {
				return err
			}
			src := string(b)
			if strings.HasSuffix(p, ".html") {
				// The one allowed script element holds JSON data.
				src = strings.ReplaceAll(src, `<script type="application/json" id="page-data">{{.Data}}</script>`, "")
			}
			if strings.HasSuffix(p, ".css") || strings.HasSuffix(p, ".js") {
				// Only HTML markup can carry these; a script may build
				// elements (and style them through the CSSOM).
				return nil
			}
			for _, x := range bad {
				if loc := x.re.FindStringIndex(src); loc != nil {
					t.Errorf("%s: %s at %q", p, x.what, src[loc[0]:min(loc[1]+30, len(src))])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Scripts never set inline styles or handlers through attributes.
	_ = fs.WalkDir(assetFS, "assets/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(assetFS, p)
		for _, re := range []*regexp.Regexp{regexp.MustCompile(`setAttribute\(\s*['"](style|on[a-z]+)['"]`), regexp.MustCompile(`\.innerHTML\s*=`), regexp.MustCompile(`\beval\(|new Function\(`)} {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s: %q: forbidden by the CSP or unsafe with data", p, b[loc[0]:loc[1]])
			}
		}
		return nil
	})
}

// Every page renders for a viewer allowed to see it, with the CSP, the
// viewer's data and its own script; menus follow rights.
func TestPagesRender(t *testing.T) {
	admin := &Viewer{Login: "adm", Name: "Смирнова", Roles: []string{"admin"}, RoleNames: []string{"Администратор контакт-центра"},
		Rights: []string{"read:appeal", "create:appeal", "update:appeal", "approve:appeal", "read:journal", "read:account", "create:account", "create:catalog", "create:registry"}, CSRF: "tok"}
	op := &Viewer{Login: "op", Name: "Иванова", Roles: []string{"operator_l1"}, Rights: []string{"read:appeal", "create:appeal", "update:appeal"}}
	for _, p := range Pages {
		t.Run(p.Name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := Render(w, p, admin, map[string]any{"appeal": map[string]string{"id": "x"}}); err != nil {
				t.Fatal(err)
			}
			body := w.Body.String()
			if w.Header().Get("Content-Security-Policy") != CSP {
				t.Errorf("CSP header %q", w.Header().Get("Content-Security-Policy"))
			}
			for _, want := range []string{`<html lang="ru">`, `/assets/js/` + p.Name + `.js?v=`, `content="tok"`, "Смирнова", `id="page-data"`} {
				if !strings.Contains(body, want) {
					t.Errorf("page %s lacks %q", p.Path, want)
				}
			}
		})
	}
	var labels []string
	for _, m := range Menu(op, "/work") {
		labels = append(labels, m.Label)
		if m.Current != (m.Href == "/work") {
			t.Errorf("menu item %s current=%v", m.Href, m.Current)
		}
	}
	if got := strings.Join(labels, ","); got != "Личный кабинет,Новое обращение,Мои обращения" {
		t.Errorf("level-1 operator's menu = %s", got)
	}
	if Home(op) != "/cabinet" || Home(admin) != "/review" {
		t.Errorf("homes: operator %s, admin %s", Home(op), Home(admin))
	}
	// A value cannot end the data block early.
	w := httptest.NewRecorder()
	p, _ := PageByName("cabinet")
	_ = Render(w, p, op, map[string]any{"x": "</script><script>alert(1)</script>"})
	if strings.Contains(w.Body.String(), "</script><script>alert") {
		t.Error("page data can close its script element")
	}
}

// Assets: known files only, with an ETag; a versioned URL is cached for
// a year, an unversioned one revalidated.
func TestAssets(t *testing.T) {
	h := Assets(http.NotFound)
	get := func(path, inm string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("/assets/js/lib.js", "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("lib.js = %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
	}
	etag := w.Header().Get("ETag")
	if w := get("/assets/js/lib.js", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match = %d, want 304", w.Code)
	}
	v := strings.TrimPrefix(assetURL("/assets/js/lib.js"), "/assets/js/lib.js?v=")
	if w := get("/assets/js/lib.js?v="+v, ""); !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("versioned URL Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	for _, p := range []string{"/assets/nope.js", "/assets/../web.go", "/assets/js/"} {
		if w := get(p, ""); w.Code != 404 {
			t.Errorf("%s = %d, want 404", p, w.Code)
		}
	}
}
