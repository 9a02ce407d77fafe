package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestPlanCommand(t *testing.T) {
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	if err := app.Run([]string{"obzvon", "plan", "--calls-per-hour", "200", "--aht", "180", "--target", "80/20", "--json"}); err != nil {
		t.Fatalf("obzvon plan: %v", err)
	}
	var got planJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("obzvon plan --json printed %q: %v", out.String(), err)
	}
	if got.Agents != 14 || got.Model != "erlang-c" || got.ServiceLevel < 0.888 || got.ServiceLevel > 0.889 ||
		got.Occupancy < 0.714 || got.Occupancy > 0.715 {
		t.Errorf("obzvon plan 200/h 180 s 80/20 = %+v, want 14 agents, SL 88.8 %%, occupancy 71.4 %%", got)
	}

	out.Reset()
	if err := app.Run([]string{"obzvon", "plan", "--calls-per-hour", "200", "--aht", "180", "--patience", "120"}); err != nil {
		t.Fatalf("obzvon plan --patience: %v", err)
	}
	for _, want := range []string{"Erlang A", "Операторов нужно:       12", "Потерянные вызовы"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("obzvon plan --patience 120 printed %q, want it to contain %q", out.String(), want)
		}
	}
}

func TestPlanBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--calls-per-hour", "200", "--aht", "0"},
		{"--calls-per-hour", "-5", "--aht", "180"},
		{"--calls-per-hour", "200", "--aht", "180", "--target", "80"},
	} {
		app := newApp()
		app.Writer = &bytes.Buffer{}
		app.ExitErrHandler = func(*cli.Context, error) {} // return the error instead of exiting
		err := app.Run(append([]string{"obzvon", "plan"}, args...))
		if err == nil || !strings.Contains(err.Error(), "Try: obzvon plan") {
			t.Errorf("obzvon plan %v: error %v, want a usage error with a hint", args, err)
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		frac    float64
		seconds float64
		wantErr bool
	}{
		{"80/20", 0.8, 20, false},
		{"90%/15", 0.9, 15, false},
		{"80", 0, 0, true},
		{"100/20", 0, 0, true},
		{"80/-1", 0, 0, true},
		{"x/20", 0, 0, true},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && (got.Fraction != tt.frac || got.AnswerTime != tt.seconds)) {
			t.Errorf("parseTarget(%q) = %+v, %v; want %v/%v err=%v", tt.in, got, err, tt.frac, tt.seconds, tt.wantErr)
		}
	}
}
