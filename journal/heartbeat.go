package journal

import "context"

// Ping sends a probe through the group committer and waits until the
// committer has taken it and finished the group it came with: it returns
// nil only while the committer makes progress, so a watchdog can tell a
// stuck committer (a commit that never returns) from an idle one. It
// writes nothing. A read-only journal has no committer; Ping then checks
// only that the journal is open.
func (j *Journal) Ping(ctx context.Context) error {
	if err := j.check(ctx, false); err != nil || j.commitCh == nil {
		return err
	}
	req := &commitReq{probe: true, done: make(chan error, 1)}
	// Like send, but a full queue in front of a stuck committer must not
	// hold the probe forever.
	j.sendMu.RLock()
	select {
	case <-j.closed:
		j.sendMu.RUnlock()
		return ErrClosed
	default:
	}
	select {
	case j.commitCh <- req:
		j.sendMu.RUnlock()
	case <-ctx.Done():
		j.sendMu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// splitProbes separates the probes of a group from its transactions.
func splitProbes(group []*commitReq) (txns, probes []*commitReq) {
	for _, r := range group {
		if r.probe {
			probes = append(probes, r)
		} else {
			txns = append(txns, r)
		}
	}
	return txns, probes
}
