//go:build linux

package media

import (
	"syscall"
	"unsafe"
)

// ping asks the worker to close ch the next time it runs a batch: it
// wakes the worker through its eventfd, so an idle worker answers at
// once and a worker stuck in a batch (a leg's packet path that never
// returns) never does.
func (w *worker) ping(ch chan struct{}) {
	w.pingMu.Lock()
	defer w.pingMu.Unlock()
	if w.wakefd < 0 { // stopped: nothing left to be stuck
		close(ch)
		return
	}
	w.pings = append(w.pings, ch)
	one := uint64(1)
	syscall.Write(w.wakefd, (*[8]byte)(unsafe.Pointer(&one))[:])
}

// closeWake closes the eventfd when the worker ends, under pingMu so a
// ping never writes to a closed (or reused) descriptor, and answers the
// pings still waiting.
func (w *worker) closeWake() {
	w.pingMu.Lock()
	defer w.pingMu.Unlock()
	syscall.Close(w.wakefd)
	w.wakefd = -1
	for _, ch := range w.pings {
		close(ch)
	}
	w.pings = nil
}

// pong answers the pings waiting; it runs in the worker's batch. Reading
// the eventfd clears it (the set is level-triggered), unless the worker
// is stopping, when the wake-up must stay set.
func (w *worker) pong() {
	if !w.stopped.Load() {
		var b [8]byte
		syscall.Read(w.wakefd, b[:])
	}
	w.pingMu.Lock()
	pings := w.pings
	w.pings = nil
	w.pingMu.Unlock()
	for _, ch := range pings {
		close(ch)
	}
}
