package acd

import (
	"errors"
	"testing"
)

func TestStateNames(t *testing.T) {
	tests := []struct {
		s    State
		name string
	}{
		{StateLoggedOut, "logged_out"},
		{StateReady, "ready"},
		{StateReserved, "reserved"},
		{StateTalking, "talking"},
		{StateWrapUp, "wrap_up"},
		{StatePaused, "paused"},
	}
	if len(tests) != len(States) {
		t.Fatalf("table has %d states, States has %d", len(tests), len(States))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.String(); got != tt.name {
				t.Errorf("%d.String() = %q, want %q", tt.s, got, tt.name)
			}
			got, err := ParseState(tt.name)
			if err != nil || got != tt.s {
				t.Errorf("ParseState(%q) = %v, %v, want %v", tt.name, got, err, tt.s)
			}
			var u State
			if err := u.UnmarshalText([]byte(tt.name)); err != nil || u != tt.s {
				t.Errorf("UnmarshalText(%q) = %v, %v", tt.name, u, err)
			}
		})
	}
	for _, bad := range []string{"", "unknown", "Ready", "talk"} {
		if _, err := ParseState(bad); !errors.Is(err, ErrBadState) {
			t.Errorf("ParseState(%q) error = %v, want ErrBadState", bad, err)
		}
	}
	if State(99).String() != "unknown" || State(-1).String() != "unknown" {
		t.Error("out-of-range states must print as unknown")
	}
	if StateLoggedOut.Working() || StateUnknown.Working() || !StatePaused.Working() {
		t.Error("Working() wrong")
	}
	if !StateReserved.Busy() || !StateTalking.Busy() || StateWrapUp.Busy() {
		t.Error("Busy() wrong")
	}
}
