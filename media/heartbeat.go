package media

import "context"

// Ping checks that every epoll worker of the engine makes progress: it
// wakes each one and waits until each has run a batch since. An idle
// worker answers at once; one stuck in a packet path (a deadlock, a
// blocked write) does not, and Ping returns ctx's error. An engine
// without workers (a reader per leg) has nothing to ping and returns nil.
func (e *Engine) Ping(ctx context.Context) error {
	chs := make([]chan struct{}, len(e.workers))
	for i, w := range e.workers {
		chs[i] = make(chan struct{})
		w.ping(chs[i])
	}
	for _, ch := range chs {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
