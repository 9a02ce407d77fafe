package media

import (
	"errors"
	"fmt"
	"sync"
)

// ErrNoPorts means every RTP port pair of the configured range is in use or
// failed to bind.
var ErrNoPorts = errors.New("no free RTP port in range")

// portAllocator hands out even RTP ports from [min, max]; port+1 is the
// RTCP port of the pair and is never handed out for RTP. A cursor moves
// round the range and wraps, so a freed pair is reused only after the
// others have been tried (a late packet of an old call rarely reaches a
// new one), and allocation costs O(1) while the range is not nearly full.
// Pairs whose bind fails (a port taken by another process) are skipped.
type portAllocator struct {
	mu   sync.Mutex
	base int    // first even port
	used []bool // used[i] for pair base+2i
	next int    // index of the next pair to try
	free int    // pairs not in use
}

// newPortAllocator returns an allocator over the even ports p with
// min <= p and p+1 <= max.
func newPortAllocator(min, max int) (*portAllocator, error) {
	if min <= 0 || max > 65535 || min > max {
		return nil, fmt.Errorf("invalid RTP port range %d-%d", min, max)
	}
	base := min + min%2
	n := (max - base + 1) / 2
	if n <= 0 {
		return nil, fmt.Errorf("RTP port range %d-%d holds no even port with its odd neighbour", min, max)
	}
	return &portAllocator{base: base, used: make([]bool, n), free: n}, nil
}

// alloc returns the next free even port for which bind succeeds, trying
// each pair at most once per call. bind runs under the allocator's lock, so
// two legs never race for one pair; it must not call back into the
// allocator.
func (a *portAllocator) alloc(bind func(port int) error) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var lastErr error
	tried := 0
	for n := len(a.used); tried < n && a.free > 0; {
		i := a.next
		a.next = (a.next + 1) % n
		if a.used[i] {
			// cheap skip; counts towards a full lap
			tried++
			continue
		}
		tried++
		port := a.base + 2*i
		if err := bind(port); err != nil {
			lastErr = err
			continue
		}
		a.used[i] = true
		a.free--
		return port, nil
	}
	if lastErr != nil {
		return 0, fmt.Errorf("%w (last bind error: %v)", ErrNoPorts, lastErr)
	}
	return 0, ErrNoPorts
}

// release returns the pair of port to the pool. Releasing a port that is
// not allocated does nothing.
func (a *portAllocator) release(port int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := (port - a.base) / 2
	if port < a.base || (port-a.base)%2 != 0 || i >= len(a.used) || !a.used[i] {
		return
	}
	a.used[i] = false
	a.free++
}
