package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/campaigns"
)

// referenceOccupancy is the published reference model's occupancy at 3 %
// abandonment and p = 0.3, by number of agents (issue 4).
var referenceOccupancy = map[int]float64{10: 0.84, 25: 0.89, 50: 0.93, 100: 0.96}

// simulateCommand returns `obzvon simulate`: the pacing benchmark grid and
// the blended scenario on the discrete-event simulator, which drives the
// production pacer.
func simulateCommand() *cli.Command {
	return &cli.Command{
		Name:  "simulate",
		Usage: "run the pacing simulator: modes × agents × live-answer rate, plus a blended scenario",
		UsageText: "obzvon simulate [--modes progressive,ratio,predictive] [--agents 10,25,50,100] [--p 0.2,0.3,0.4]\n" +
			"   [--seeds N] [--hours H] [--warmup 30m] [--parallel N] [--blended] [--json]\n" +
			"   [--talk 120s] [--talk-dist lognormal|exp] [--wrap 15s] [--time-scale 1] [--amd-live D --amd-machine D]\n" +
			"   [--priors live=P,ring=D,talk=D,wrap=D] [--day-from-warmup]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "modes", Value: "progressive,ratio,predictive", Usage: "pacing modes to run"},
			&cli.StringFlag{Name: "agents", Value: "10,25,50,100", Usage: "agent counts"},
			&cli.StringFlag{Name: "p", Value: "0.2,0.3,0.4", Usage: "live-answer probabilities"},
			&cli.IntFlag{Name: "seeds", Value: 1, Usage: "simulated days (seeds) per cell"},
			&cli.Float64Flag{Name: "hours", Value: 1, Usage: "measured hours per day (8 for the full benchmark)"},
			&cli.DurationFlag{Name: "warmup", Value: 30 * time.Minute, Usage: "warm-up before measuring"},
			&cli.Float64Flag{Name: "ratio", Value: 2, Usage: "lines per agent in ratio mode"},
			&cli.IntFlag{Name: "parallel", Value: 1, Usage: "simulations run at once"},
			&cli.BoolFlag{Name: "blended", Usage: "also run the blended scenario (inbound 80/20 beside a predictive campaign)"},
			&cli.IntFlag{Name: "blended-agents", Value: 50, Usage: "agents in the blended scenario"},
			&cli.Float64Flag{Name: "inbound-cph", Value: 300, Usage: "inbound calls per hour in the blended scenario"},
			&cli.DurationFlag{Name: "inbound-aht", Value: 180 * time.Second, Usage: "inbound handle time in the blended scenario"},
			&cli.DurationFlag{Name: "talk", Value: 120 * time.Second, Usage: "mean talk time (lognormal, CV 1)"},
			&cli.DurationFlag{Name: "wrap", Value: 15 * time.Second, Usage: "wrap-up after each call"},
			&cli.Float64Flag{Name: "time-scale", Value: 1, Usage: "divide the called side's times by this (10: make bench-campaign's scaled day; set --talk and --wrap to match)"},
			&cli.DurationFlag{Name: "amd-live", Usage: "answering-machine detection as the appliance runs it: its time from a live answer to passing it on (the person waits for it before an operator; the grace starts after it); real time, not divided by --time-scale; give --amd-machine too"},
			&cli.DurationFlag{Name: "amd-machine", Usage: "with --amd-live: detection's time from a machine's answer to its verdict (real time, not divided by --time-scale; without both: the reference's 3 s, scaled)"},
			&cli.StringFlag{Name: "talk-dist", Value: "lognormal", Usage: "talk time distribution: lognormal (CV 1) or exp (obzvon-load's trunk)"},
			&cli.StringFlag{Name: "priors", Usage: "the campaign's priors the estimates start from, as its prior_* settings: live=0.3,ring=900ms,talk=12s,wrap=1.5s (missing keys: the defaults)"},
			&cli.BoolFlag{Name: "day-from-warmup", Usage: "count the warm-up in the measured day's abandonment (a campaign started that day, as make bench-campaign's); default: the warm-up ends the day before"},
			&cli.BoolFlag{Name: "json", Usage: "print the results as JSON lines"},
		},
		Action: runSimulate,
	}
}

// simRow is one cell of the grid, also the stable --json output.
type simRow struct {
	Scenario             string  `json:"scenario"`
	Mode                 string  `json:"mode"`
	Agents               int     `json:"agents"`
	LiveProb             float64 `json:"p"`
	Seeds                int     `json:"seeds"`
	Occupancy            float64 `json:"occupancy"`
	OutboundOccupancy    float64 `json:"outbound_occupancy"`
	Abandon              float64 `json:"abandon"`
	WorstDayAbandon      float64 `json:"worst_day_abandon"`
	ContactsPerAgentHour float64 `json:"contacts_per_agent_hour"`
	IdlePerConnect       float64 `json:"idle_seconds_per_connect"`
	InboundSL            float64 `json:"inbound_service_level,omitempty"`
	MinInboundSL         float64 `json:"min_inbound_service_level,omitempty"`
	Reference            float64 `json:"reference_occupancy,omitempty"`
	Meets                *bool   `json:"meets_reference,omitempty"`
}

func runSimulate(c *cli.Context) error {
	usage := func(err error) error {
		return cli.Exit(fmt.Sprintf("%v\nTry: obzvon simulate --agents 10,25 --p 0.3 --hours 0.5", err), exitUsage)
	}
	var modes []campaigns.Mode
	for _, s := range splitList(c.String("modes")) {
		m, err := campaigns.ParseMode(s)
		if err != nil || m == campaigns.ModePreview || m == campaigns.ModeAgentless {
			return usage(fmt.Errorf("--modes: %q: want progressive, ratio or predictive", s))
		}
		modes = append(modes, m)
	}
	agents, err := parseInts(c.String("agents"))
	if err != nil {
		return usage(fmt.Errorf("--agents: %w", err))
	}
	ps, err := parseFloats(c.String("p"))
	if err != nil {
		return usage(fmt.Errorf("--p: %w", err))
	}
	seeds, hours := c.Int("seeds"), c.Float64("hours")
	if ts := c.Float64("time-scale"); !(ts >= 1 && ts <= 100) || c.Duration("talk") <= 0 || c.Duration("wrap") < 0 {
		return usage(fmt.Errorf("--time-scale %v, --talk %v, --wrap %v: want a scale of 1..100, talk > 0, wrap >= 0", ts, c.Duration("talk"), c.Duration("wrap")))
	}
	if seeds < 1 || !(hours > 0) || c.Duration("warmup") < 0 {
		return usage(fmt.Errorf("--seeds %d, --hours %v, --warmup %v: want seeds >= 1, hours > 0, warmup >= 0", seeds, hours, c.Duration("warmup")))
	}
	var amd *campaigns.SimAMD
	if c.IsSet("amd-live") || c.IsSet("amd-machine") {
		live, machine := c.Duration("amd-live"), c.Duration("amd-machine")
		if !c.IsSet("amd-live") || !c.IsSet("amd-machine") || live < 0 || machine < 0 || live > time.Minute || machine > time.Minute {
			return usage(fmt.Errorf("--amd-live %v, --amd-machine %v: give both, each 0..1m", live, machine))
		}
		amd = &campaigns.SimAMD{Live: live, Machine: machine}
	}
	var talkExp bool
	switch d := c.String("talk-dist"); d {
	case "lognormal":
	case "exp":
		talkExp = true
	default:
		return usage(fmt.Errorf("--talk-dist %q: want lognormal or exp", d))
	}
	priors, err := parsePriors(c.String("priors"))
	if err != nil {
		return usage(fmt.Errorf("--priors: %w", err))
	}
	base := func(mode campaigns.Mode, n int, p float64) campaigns.SimConfig {
		cfg := campaigns.DefaultSimConfig(mode, n, p)
		cfg.Duration = time.Duration(hours * float64(time.Hour))
		cfg.Warmup = c.Duration("warmup")
		cfg.TalkMean, cfg.Wrap, cfg.Scale = c.Duration("talk"), c.Duration("wrap"), c.Float64("time-scale")
		cfg.AMD, cfg.TalkExp, cfg.Priors, cfg.DayFromWarmup = amd, talkExp, priors, c.Bool("day-from-warmup")
		if mode == campaigns.ModeRatio {
			cfg.Pacer.Ratio = c.Float64("ratio")
		}
		return cfg
	}

	var rows []simRow
	out := c.App.Writer
	for _, mode := range modes {
		for _, n := range agents {
			for _, p := range ps {
				sum, err := campaigns.SimulateSeeds(base(mode, n, p), seeds, c.Int("parallel"))
				if err != nil {
					return usage(err)
				}
				row := rowOf("reference", mode, n, p, sum)
				if mode == campaigns.ModePredictive {
					if ref, ok := referenceOccupancy[n]; ok {
						row.Reference = ref
						meets := row.Occupancy >= ref && row.WorstDayAbandon <= 0.03
						row.Meets = &meets
					}
				}
				rows = append(rows, row)
				if c.Bool("json") {
					if err := json.NewEncoder(out).Encode(row); err != nil {
						return err
					}
				}
			}
		}
	}
	if c.Bool("blended") {
		n := c.Int("blended-agents")
		cfg := base(campaigns.ModePredictive, n, 0.3)
		cfg.Inbound = &campaigns.SimInbound{CallsPerHour: c.Float64("inbound-cph"), HandleTime: c.Duration("inbound-aht"),
			Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}
		sum, err := campaigns.SimulateSeeds(cfg, seeds, c.Int("parallel"))
		if err != nil {
			return usage(err)
		}
		row := rowOf("blended", campaigns.ModePredictive, n, 0.3, sum)
		row.InboundSL, row.MinInboundSL = sum.InboundSL, sum.MinInboundSL
		rows = append(rows, row)
		if c.Bool("json") {
			if err := json.NewEncoder(out).Encode(row); err != nil {
				return err
			}
		}
	}
	if !c.Bool("json") {
		printSimTable(out, rows, seeds, hours)
	}
	return nil
}

func rowOf(scenario string, mode campaigns.Mode, n int, p float64, s campaigns.SimSummary) simRow {
	return simRow{Scenario: scenario, Mode: mode.String(), Agents: n, LiveProb: p, Seeds: s.Seeds,
		Occupancy: s.Occupancy, OutboundOccupancy: s.OutboundOccupancy, Abandon: s.Abandon, WorstDayAbandon: s.WorstDayAbandon,
		ContactsPerAgentHour: s.ContactsPerAgentHour, IdlePerConnect: s.IdlePerConnect}
}

func printSimTable(w io.Writer, rows []simRow, seeds int, hours float64) {
	fmt.Fprintf(w, "Симуляция: %d сут. × %g ч на ячейку; эталон — занятость при 3 %% брошенных и p = 0,3\n", seeds, hours)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "сценарий\tрежим\tоператоров\tp\tзанятость\tэталон\tброшено\tхудший день\tконтактов/ч\tпростой с/контакт\tSL входящих\tитог\t")
	for _, r := range rows {
		ref, verdict, sl := "", "", ""
		if r.Reference > 0 {
			ref = fmt.Sprintf("%.0f %%", 100*r.Reference)
		}
		if r.Meets != nil {
			verdict = "OK"
			if !*r.Meets {
				verdict = "ПРОМАХ"
			}
		}
		if r.Scenario == "blended" {
			sl = fmt.Sprintf("%.1f %% (мин %.1f %%)", 100*r.InboundSL, 100*r.MinInboundSL)
		}
		occ := fmt.Sprintf("%.1f %%", 100*r.Occupancy)
		if r.Scenario == "blended" {
			occ = fmt.Sprintf("%.1f %% (исх. %.1f %%)", 100*r.Occupancy, 100*r.OutboundOccupancy)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s\t%s\t%.2f %%\t%.2f %%\t%.1f\t%.1f\t%s\t%s\t\n",
			r.Scenario, r.Mode, r.Agents, r.LiveProb, occ, ref, 100*r.Abandon, 100*r.WorstDayAbandon,
			r.ContactsPerAgentHour, r.IdlePerConnect, sl, verdict)
	}
	tw.Flush()
}

// parsePriors parses --priors: live=P,ring=D,talk=D,wrap=D, each key at
// most once, any left out (or all: "") taking the default.
func parsePriors(s string) (campaigns.Priors, error) {
	var p campaigns.Priors
	seen := map[string]bool{}
	for _, f := range splitList(s) {
		k, v, ok := strings.Cut(f, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || seen[k] {
			return campaigns.Priors{}, fmt.Errorf("%q: want live=P,ring=D,talk=D,wrap=D, each key once", f)
		}
		seen[k] = true
		if k == "live" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || !(x > 0 && x < 1) {
				return campaigns.Priors{}, fmt.Errorf("%q: want a live-answer share in (0, 1)", f)
			}
			p.LiveProb = x
			continue
		}
		var to *time.Duration
		switch k {
		case "ring":
			to = &p.LiveRing
		case "talk":
			to = &p.Talk
		case "wrap":
			to = &p.Wrap
		default:
			return campaigns.Priors{}, fmt.Errorf("%q: unknown prior %q (want live, ring, talk or wrap)", f, k)
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 24*time.Hour {
			return campaigns.Priors{}, fmt.Errorf("%q: want a positive duration like 9s", f)
		}
		*to = d
	}
	return p, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 5000 {
			return nil, fmt.Errorf("%q: want whole numbers from 1 to 5000", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: empty list", s)
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range splitList(s) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || !(x > 0 && x <= 1) {
			return nil, fmt.Errorf("%q: want probabilities in (0, 1]", f)
		}
		out = append(out, x)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: empty list", s)
	}
	return out, nil
}
