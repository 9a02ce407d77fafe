package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The daemon serves pprof on its admin socket, still passes the API
// through there, and never serves pprof on the TCP API.
func TestPprofOnAdminSocketOnly(t *testing.T) {
	d := startCLIDaemon(t)
	defer d.stop()
	sock := socketAPI(adminSocketPath(d.data)).hc
	tcp := d.httpsClient()

	get := func(hc *http.Client, url string) (int, string) {
		t.Helper()
		res, err := hc.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("GET %s: read body: %v", url, err)
		}
		return res.StatusCode, string(b)
	}

	tests := []struct {
		name     string
		hc       *http.Client
		url      string
		wantCode int
		wantBody string // prefix of the body
	}{
		{"socket goroutine profile", sock, "http://obzvon/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile: total "},
		{"socket heap profile", sock, "http://obzvon/debug/pprof/heap?debug=1", http.StatusOK, "heap profile: "},
		{"socket index", sock, "http://obzvon/debug/pprof/", http.StatusOK, "<html>"},
		{"socket API passes through", sock, "http://obzvon/readyz", http.StatusOK, ""},
		{"tcp goroutine profile", tcp, d.http + "/debug/pprof/goroutine?debug=1", http.StatusNotFound, ""},
		{"tcp index", tcp, d.http + "/debug/pprof/", http.StatusNotFound, ""},
		{"tcp cmdline", tcp, d.http + "/debug/pprof/cmdline", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(tt.hc, tt.url)
			if code != tt.wantCode {
				t.Fatalf("GET %s = %d, want %d; body: %.200s", tt.url, code, tt.wantCode, body)
			}
			if !strings.HasPrefix(body, tt.wantBody) {
				t.Errorf("GET %s: body starts %.60q, want prefix %q", tt.url, body, tt.wantBody)
			}
			if tt.wantCode == http.StatusNotFound && strings.Contains(body, "goroutine profile") {
				t.Errorf("GET %s: 404 body leaks profile data: %.200s", tt.url, body)
			}
		})
	}
}
