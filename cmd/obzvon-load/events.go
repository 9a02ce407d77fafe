package main

import (
	"bufio"
	"encoding/json"
	"os"
	"sync"
	"time"
)

// event is one line of the events file (--events): what happened to one
// phone, caller or trunk call, with wall-clock times in Unix nanoseconds,
// so that a benchmark can join it with the appliance's journal (its
// connect events) by call and time.
type event struct {
	T        int64   `json:"t_unix_ns"`
	Role     string  `json:"role"`
	ID       string  `json:"id"`
	Event    string  `json:"event"`
	CallID   string  `json:"call_id,omitempty"`
	Peer     string  `json:"peer,omitempty"`
	Start    int64   `json:"start_unix_ns,omitempty"`
	End      int64   `json:"end_unix_ns,omitempty"`
	Packets  uint64  `json:"packets,omitempty"`
	Dropouts uint64  `json:"dropouts,omitempty"`
	MaxGapMs float64 `json:"max_gap_ms,omitempty"`
	WaitMs   float64 `json:"wait_ms,omitempty"`
	TalkMs   float64 `json:"talk_ms,omitempty"`
	Outcome  string  `json:"outcome,omitempty"`
	HungUp   string  `json:"hung_up_by,omitempty"`
}

// eventLog writes events as JSON lines. A nil *eventLog drops them.
type eventLog struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
	n  uint64
}

func openEventLog(path string) (*eventLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &eventLog{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (l *eventLog) write(e event) {
	if l == nil {
		return
	}
	if e.T == 0 {
		e.T = time.Now().UnixNano()
	}
	b, _ := json.Marshal(e)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b)
	_ = l.w.WriteByte('\n')
	l.n++
}

func (l *eventLog) close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Flush(); err != nil {
		l.f.Close()
		return err
	}
	return l.f.Close()
}
