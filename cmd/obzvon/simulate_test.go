package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestSimulateCommand(t *testing.T) {
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	args := []string{"obzvon", "simulate", "--modes", "progressive,predictive", "--agents", "10", "--p", "0.3",
		"--hours", "0.5", "--warmup", "30m", "--blended", "--blended-agents", "20", "--inbound-cph", "100", "--json"}
	if err := app.Run(args); err != nil {
		t.Fatalf("obzvon simulate: %v", err)
	}
	var rows []simRow
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r simRow
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode --json line: %v", err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 3 {
		t.Fatalf("obzvon simulate printed %d rows, want 3 (progressive, predictive, blended)", len(rows))
	}
	prog, pred, blend := rows[0], rows[1], rows[2]
	if prog.Mode != "progressive" || prog.Abandon != 0 || prog.Occupancy < 0.6 || prog.Occupancy > 0.9 {
		t.Errorf("progressive row = %+v, want no abandons and occupancy near 76 %%", prog)
	}
	if pred.Mode != "predictive" || pred.Occupancy <= prog.Occupancy || pred.Reference != 0.84 || pred.Meets == nil {
		t.Errorf("predictive row = %+v, want occupancy above progressive and a reference verdict", pred)
	}
	if blend.Scenario != "blended" || blend.InboundSL < 0.8 || blend.OutboundOccupancy <= 0 {
		t.Errorf("blended row = %+v, want inbound SL >= 80 %% and outbound work", blend)
	}
}

func TestSimulateBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--modes", "preview"},
		{"--agents", "0"},
		{"--p", "1.5"},
		{"--seeds", "0"},
	} {
		app := newApp()
		var out bytes.Buffer
		app.Writer = &out
		app.ExitErrHandler = func(*cli.Context, error) {} // return the error instead of exiting
		err := app.Run(append([]string{"obzvon", "simulate"}, args...))
		if err == nil || !strings.Contains(err.Error(), "Try: obzvon simulate") {
			t.Errorf("obzvon simulate %v: error %v, want a usage error with a hint", args, err)
		}
	}
}
