package acd

import "sync"

// Ticket is a call's link to the ACD while it is in it: offers and
// revocations arrive on Notices in order.
type Ticket struct {
	id string
	ch chan Notice

	mu      sync.Mutex
	pending []Notice // notices the channel had no room for (never blocks the ACD)
	onOffer func(Notice)
}

// OnOffer makes the ACD call fn with each offer the moment it decides it,
// before the offer is on Notices: the caller's side can switch the call
// to the agent at once instead of when its reader wakes. fn runs under
// the ACD's lock: it must not block nor call the ACD.
func (t *Ticket) OnOffer(fn func(Notice)) {
	t.mu.Lock()
	t.onOffer = fn
	t.mu.Unlock()
}

func newTicket(id string) *Ticket {
	return &Ticket{id: id, ch: make(chan Notice, 4)}
}

// ID is the call's id.
func (t *Ticket) ID() string { return t.id }

// Notices delivers the ACD's notices for the call. Read it while the call
// waits or talks; a reader that falls behind loses nothing (notices queue
// up) but its offers may lapse.
func (t *Ticket) Notices() <-chan Notice { return t.ch }

// notify queues n without blocking. It runs under the ACD's lock.
func (t *Ticket) notify(n Notice) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n.Kind == NoticeOffer && t.onOffer != nil {
		t.onOffer(n)
	}
	t.flush()
	if len(t.pending) > 0 {
		t.pending = append(t.pending, n)
		return
	}
	select {
	case t.ch <- n:
	default:
		t.pending = append(t.pending, n)
	}
}

// Refill moves queued notices into the channel; a reader calls it after
// draining Notices when it may have overflowed (rare: the buffer holds 4).
func (t *Ticket) Refill() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flush()
}

func (t *Ticket) flush() {
	for len(t.pending) > 0 {
		select {
		case t.ch <- t.pending[0]:
			t.pending = t.pending[1:]
		default:
			return
		}
	}
}
