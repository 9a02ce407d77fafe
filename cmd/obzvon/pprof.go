package main

import (
	"net/http"
	"net/http/pprof"
)

// withPprof serves net/http/pprof under /debug/pprof/ and passes every
// other request to next. It is mounted on the admin Unix socket only:
// profiles expose memory contents and goroutine stacks, and a CPU
// profile costs the appliance CPU, so the TCP API never gets them.
//
// Operators read them with e.g.
//
//	curl --unix-socket DATA/obzvon.sock 'http://x/debug/pprof/goroutine?debug=1'
//	curl --unix-socket DATA/obzvon.sock -o heap.pb.gz 'http://x/debug/pprof/heap?gc=1'
func withPprof(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // named profiles: goroutine, heap, allocs, block, mutex, threadcreate
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", next)
	return mux
}
