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
		{"--amd-live", "1s"},
		{"--amd-machine", "2s"},
		{"--amd-live", "-1s", "--amd-machine", "2s"},
		{"--talk-dist", "gamma"},
		{"--priors", "live=1.5"},
		{"--priors", "ring=9s,ring=8s"},
		{"--priors", "patience=30s"},
		{"--priors", "talk=-3s"},
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

// The bench's scenario (scripts/bench-campaign.sh): the scaled day with the
// appliance's answering-machine detection, the trunk's exponential talk,
// the campaign's priors and a day that began with the warm-up. A person
// waits a second for detection before an operator, unscaled, so the
// operators idle more than with the reference's detection-free answer.
func TestSimulateBenchScenario(t *testing.T) {
	run := func(extra ...string) simRow {
		t.Helper()
		app := newApp()
		var out bytes.Buffer
		app.Writer = &out
		args := append([]string{"obzvon", "simulate", "--modes", "predictive", "--agents", "25", "--p", "0.3", "--seeds", "2",
			"--hours", "0.2", "--warmup", "3m", "--talk", "12s", "--wrap", "1.5s", "--time-scale", "10", "--json"}, extra...)
		if err := app.Run(args); err != nil {
			t.Fatalf("obzvon simulate %v: %v", extra, err)
		}
		var r simRow
		if err := json.NewDecoder(&out).Decode(&r); err != nil {
			t.Fatalf("decode --json line: %v", err)
		}
		return r
	}
	ref := run()
	bench := run("--amd-live", "1s", "--amd-machine", "1.92s", "--talk-dist", "exp",
		"--priors", "live=0.3,ring=900ms,talk=12s,wrap=1.5s", "--day-from-warmup")
	if bench.Occupancy >= ref.Occupancy-0.01 || bench.IdlePerConnect <= ref.IdlePerConnect {
		t.Errorf("with the appliance's detection: occupancy %.1f %%, idle %.2f s per connect; reference scaled day %.1f %%, %.2f s: want lower occupancy, more idle",
			100*bench.Occupancy, bench.IdlePerConnect, 100*ref.Occupancy, ref.IdlePerConnect)
	}
}
