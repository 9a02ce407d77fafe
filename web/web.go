// Package web is the desktop of obzvon's users, served by the appliance
// itself: the operator's cabinet and phone, the appeal card, the level-2
// worklist, the administrator's review, the journal, accounts and
// catalogs, the supervisor's wallboard.
//
// Everything is embedded (go:embed): HTML templates rendered on the
// server, one stylesheet and plain JavaScript modules, no CDN, no web
// fonts, no build step. The browser talks to the JSON API under /api/v1
// and receives live updates over server-sent events (/api/v1/events).
//
// The package knows pages, not sessions: package api authenticates each
// request and renders the page with a Viewer, so the rules of who may see
// what stay in one place. Pages are sent with a Content-Security-Policy
// that allows only this origin's scripts and styles (no inline script or
// style), and their URLs never carry personal data: search terms go in
// request bodies, the current call in the tab's session storage.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// CSP is the Content-Security-Policy of every page: scripts, styles,
// media and connections from this origin only; no inline script or
// style, no frames, no plugins.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Viewer is the signed-in account as pages show it.
type Viewer struct {
	Login        string
	Name         string
	Organization string
	Extension    string
	// Roles are role codes (operator_l1…), RoleNames their Russian names.
	Roles     []string
	RoleNames []string
	// Rights are "action:resource" pairs (journal's access table).
	Rights []string
	// CSRF is the session's token for state-changing requests.
	CSRF string
}

// Can reports whether the viewer holds right ("update:appeal").
func (v *Viewer) Can(right string) bool { return v != nil && slices.Contains(v.Rights, right) }

// HasRole reports whether the viewer holds the role (code).
func (v *Viewer) HasRole(role string) bool { return v != nil && slices.Contains(v.Roles, role) }

// Operator reports whether the viewer takes calls: an operator or an
// insurance representative of any level.
func (v *Viewer) Operator() bool {
	for _, r := range []string{"operator_l1", "operator_l2", "rep_l1", "rep_l2", "rep_l3"} {
		if v.HasRole(r) {
			return true
		}
	}
	return false
}

// Page is one screen of the desktop.
type Page struct {
	// Path is the URL pattern ("/appeals/{id}").
	Path string
	// Name names the template (templates/NAME.html) and the script
	// (assets/js/NAME.js).
	Name  string
	Title string
	// Menu is the label in the navigation; "" keeps the page out of it.
	Menu string
	// Allow says who may open the page; others get the 403 page.
	Allow func(v *Viewer) bool
}

func anyone(*Viewer) bool { return true }

func can(rights ...string) func(v *Viewer) bool {
	return func(v *Viewer) bool { return slices.ContainsFunc(rights, v.Can) }
}

// Pages are the desktop's screens, in menu order.
var Pages = []Page{
	{Path: "/cabinet", Name: "cabinet", Title: "Личный кабинет", Menu: "Личный кабинет", Allow: anyone},
	{Path: "/appeals/new", Name: "card", Title: "Регистрационная карта обращения", Menu: "Новое обращение", Allow: can("create:appeal")},
	{Path: "/work", Name: "work", Title: "Мои обращения", Menu: "Мои обращения", Allow: can("update:appeal")},
	{Path: "/review", Name: "review", Title: "Проверка обращений", Menu: "Проверка", Allow: can("approve:appeal")},
	{Path: "/journal", Name: "journal", Title: "Электронный журнал", Menu: "Журнал", Allow: func(v *Viewer) bool {
		return v.Can("read:journal") || v.HasRole("supervisor")
	}},
	{Path: "/wallboard", Name: "wallboard", Title: "Монитор контакт-центра", Menu: "Монитор", Allow: func(v *Viewer) bool {
		return v.HasRole("supervisor") || v.HasRole("admin")
	}},
	{Path: "/admin/accounts", Name: "accounts", Title: "Сотрудники", Menu: "Сотрудники", Allow: can("read:account")},
	{Path: "/admin/catalog", Name: "catalog", Title: "Справочники и реестр", Menu: "Справочники", Allow: can("create:catalog", "create:registry")},
	{Path: "/appeals/{id}", Name: "appeal", Title: "Обращение", Allow: can("read:appeal")},
}

// PageByName returns the page named name.
func PageByName(name string) (Page, bool) {
	i := slices.IndexFunc(Pages, func(p Page) bool { return p.Name == name })
	if i < 0 {
		return Page{}, false
	}
	return Pages[i], true
}

// MenuItem is one entry of the navigation.
type MenuItem struct {
	Href, Label string
	Current     bool
}

// Menu returns the pages v may open that have a menu label.
func Menu(v *Viewer, current string) []MenuItem {
	var out []MenuItem
	for _, p := range Pages {
		if p.Menu != "" && p.Allow(v) {
			out = append(out, MenuItem{Href: p.Path, Label: p.Menu, Current: p.Path == current})
		}
	}
	return out
}

// Home is where v lands after login: the first page of v's menu that
// fits v's work.
func Home(v *Viewer) string {
	switch {
	case v.Operator():
		return "/cabinet"
	case v.HasRole("admin"):
		return "/review"
	case v.HasRole("supervisor"):
		return "/wallboard"
	}
	return "/cabinet"
}

// pageView is what the layout template gets.
type pageView struct {
	Title    string
	Name     string
	Viewer   *Viewer
	Menu     []MenuItem
	Data     template.JS // JSON for the page's script, in a data block
	Assets   map[string]string
	Status   int
	Message  string
	Operator bool
}

var (
	tmplOnce sync.Once
	tmpl     *template.Template
	tmplErr  error
)

func templates() (*template.Template, error) {
	tmplOnce.Do(func() {
		tmpl, tmplErr = template.New("").Funcs(template.FuncMap{
			"asset": assetURL,
			"join":  strings.Join,
		}).ParseFS(templateFS, "templates/*.html")
	})
	return tmpl, tmplErr
}

// render executes the layout around the page's content template.
func render(w http.ResponseWriter, status int, name string, pv *pageView) error {
	t, err := templates()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name+".html", pv); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, err = w.Write(b.Bytes())
	return err
}

// pageData builds the JSON the page's script reads from #page-data.
func pageData(v *Viewer, extra map[string]any) (template.JS, error) {
	d := map[string]any{}
	for k, x := range extra {
		d[k] = x
	}
	if v != nil {
		d["viewer"] = map[string]any{"login": v.Login, "name": v.Name, "organization": v.Organization,
			"extension": v.Extension, "roles": v.Roles, "role_names": v.RoleNames, "rights": v.Rights, "operator": v.Operator()}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	// A data block ends at "</script": escape "<" so no value can end it.
	return template.JS(bytes.ReplaceAll(b, []byte("<"), []byte(`\u003c`))), nil
}

// Render writes page p for v with status 200; extra is merged into the
// page's data (ids of what it shows; never personal data the page can
// fetch itself).
func Render(w http.ResponseWriter, p Page, v *Viewer, extra map[string]any) error {
	data, err := pageData(v, extra)
	if err != nil {
		return err
	}
	return render(w, http.StatusOK, p.Name, &pageView{Title: p.Title, Name: p.Name, Viewer: v, Menu: Menu(v, p.Path),
		Data: data, Status: http.StatusOK, Operator: v.Operator()})
}

// RenderLogin writes the login page; message (may be empty) says why the
// user is there (session expired, logged out).
func RenderLogin(w http.ResponseWriter, message string) error {
	data, err := pageData(nil, nil)
	if err != nil {
		return err
	}
	return render(w, http.StatusOK, "login", &pageView{Title: "Вход", Name: "login", Data: data, Message: message, Status: http.StatusOK})
}

// RenderError writes an error page (403, 404) with the user's menu, so
// they can go on working.
func RenderError(w http.ResponseWriter, status int, v *Viewer, message string) error {
	title := map[int]string{http.StatusForbidden: "Доступ запрещён", http.StatusNotFound: "Страница не найдена"}[status]
	if title == "" {
		title = "Ошибка"
	}
	data, err := pageData(v, nil)
	if err != nil {
		return err
	}
	return render(w, status, "error", &pageView{Title: title, Name: "error", Viewer: v, Menu: Menu(v, ""), Data: data,
		Status: status, Message: message, Operator: v.Operator()})
}

// assetHashes are the SHA-256 prefixes of every asset, for cache-busting
// URLs and ETags.
var assetHashes = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m["/"+p] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
})

// assetURL returns the URL of an asset with its content hash, so a new
// appliance version is never mixed with cached old scripts.
func assetURL(p string) string {
	if h, ok := assetHashes()[p]; ok {
		return p + "?v=" + h
	}
	return p
}

// Assets serves /assets/… from the embedded files; notFound answers for
// any other path. Answers carry an ETag of the content; URLs with the
// right ?v= may be cached for a year.
func Assets(notFound http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean(r.URL.Path)
		hash, ok := assetHashes()[p]
		if !ok {
			notFound(w, r)
			return
		}
		b, err := assetFS.ReadFile(strings.TrimPrefix(p, "/"))
		if err != nil {
			notFound(w, r)
			return
		}
		h := w.Header()
		ct := mime.TypeByExtension(path.Ext(p))
		if path.Ext(p) == ".js" {
			ct = "text/javascript; charset=utf-8"
		}
		h.Set("Content-Type", ct)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+hash+`"`)
		if r.URL.Query().Get("v") == hash {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		if match := r.Header.Get("If-None-Match"); match == `"`+hash+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(b)
	})
}
