package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/acd"
)

// planCommand returns `obzvon plan`: agents needed for a call volume and a
// service-level target, from Erlang C (or Erlang A with --patience).
func planCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "agents needed for a call volume and a service-level target (Erlang C, Erlang A with --patience)",
		UsageText: "obzvon plan --calls-per-hour N --aht S [--target 80/20] [--patience S] [--json]",
		Flags: []cli.Flag{
			&cli.Float64Flag{Name: "calls-per-hour", Usage: "offered calls per hour", Required: true},
			&cli.Float64Flag{Name: "aht", Usage: "average handle time (talk + wrap-up), seconds", Required: true},
			&cli.StringFlag{Name: "target", Usage: "service level: percent answered / within seconds", Value: "80/20"},
			&cli.Float64Flag{Name: "patience", Usage: "mean caller patience, seconds (0: callers never hang up, Erlang C)"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
		},
		Action: func(c *cli.Context) error {
			target, err := parseTarget(c.String("target"))
			if err != nil {
				return cli.Exit(fmt.Sprintf("--target: %v\nTry: obzvon plan --calls-per-hour 200 --aht 180 --target 80/20", err), exitUsage)
			}
			q := acd.Queue{CallsPerHour: c.Float64("calls-per-hour"), HandleTime: c.Float64("aht"), Patience: c.Float64("patience")}
			var r acd.Result
			model := "erlang-c"
			if q.Patience > 0 {
				model = "erlang-a"
				r, err = acd.AgentsForTargetA(q, target)
			} else {
				r, err = acd.AgentsForTarget(q, target)
			}
			if err != nil {
				return cli.Exit(fmt.Sprintf("plan: %v\nTry: obzvon plan --calls-per-hour 200 --aht 180 --target 80/20", err), exitUsage)
			}
			return printPlan(c, model, q, target, r)
		},
	}
}

// planJSON is the stable --json output of `obzvon plan`.
type planJSON struct {
	Model        string  `json:"model"`
	LoadErlangs  float64 `json:"load_erlangs"`
	Agents       int     `json:"agents"`
	ServiceLevel float64 `json:"service_level"`
	ASASeconds   float64 `json:"asa_seconds"`
	Occupancy    float64 `json:"occupancy"`
	Abandon      float64 `json:"abandon"`
	PWait        float64 `json:"p_wait"`
}

func printPlan(c *cli.Context, model string, q acd.Queue, t acd.Target, r acd.Result) error {
	w := c.App.Writer
	if c.Bool("json") {
		return json.NewEncoder(w).Encode(planJSON{
			Model: model, LoadErlangs: r.Load, Agents: r.Agents, ServiceLevel: r.ServiceLevel,
			ASASeconds: r.ASA, Occupancy: r.Occupancy, Abandon: r.Abandon, PWait: r.PWait,
		})
	}
	fmt.Fprintf(w, "Модель:                 %s\n", map[string]string{"erlang-c": "Erlang C", "erlang-a": "Erlang A"}[model])
	fmt.Fprintf(w, "Нагрузка:               %.2f Эрл\n", r.Load)
	fmt.Fprintf(w, "Операторов нужно:       %d\n", r.Agents)
	fmt.Fprintf(w, "Уровень обслуживания:   %.1f %% за %g с (цель %g %%)\n", 100*r.ServiceLevel, t.AnswerTime, 100*t.Fraction)
	fmt.Fprintf(w, "Среднее время ответа:   %.1f с\n", r.ASA)
	fmt.Fprintf(w, "Загрузка операторов:    %.1f %%\n", 100*r.Occupancy)
	fmt.Fprintf(w, "Вероятность ожидания:   %.1f %%\n", 100*r.PWait)
	fmt.Fprintf(w, "Потерянные вызовы:      %.2f %%\n", 100*r.Abandon)
	return nil
}

// parseTarget parses "80/20" (percent answered within seconds).
func parseTarget(s string) (acd.Target, error) {
	pct, secs, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return acd.Target{}, fmt.Errorf("%q: want PERCENT/SECONDS, e.g. 80/20", s)
	}
	p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(pct), "%"), 64)
	if err != nil || !(p > 0 && p < 100) {
		return acd.Target{}, fmt.Errorf("%q: percent must be a number between 0 and 100", s)
	}
	sec, err := strconv.ParseFloat(strings.TrimSpace(secs), 64)
	if err != nil || sec < 0 {
		return acd.Target{}, fmt.Errorf("%q: seconds must be a number >= 0", s)
	}
	return acd.Target{Fraction: p / 100, AnswerTime: sec}, nil
}
