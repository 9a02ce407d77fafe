package dialer

import "context"

// Ping checks that the dialer makes progress: it takes and releases the
// lock that every call, leg and re-INVITE goes through. A dialer stuck
// while holding it (a deadlock, a blocking call under the lock) makes
// Ping wait until ctx ends and return its error; the watchdog then stops
// telling systemd the daemon is alive. The goroutine taking the lock
// stays blocked until the lock is free.
func (s *Server) Ping(ctx context.Context) error {
	var done chan struct{}
	for done == nil {
		if p := s.probe.Load(); p != nil {
			done = *p
			break
		}
		ch := make(chan struct{})
		if s.probe.CompareAndSwap(nil, &ch) {
			done = ch
			go func() {
				s.mu.Lock()
				s.mu.Unlock() //lint:ignore SA2001 an empty critical section is the probe
				s.probe.Store(nil)
				close(ch)
			}()
		}
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
