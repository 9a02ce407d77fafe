package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// examples are shown under EXAMPLES in each command's --help. Each runs
// as printed (examples_test.go runs them all in a scratch directory that
// has the files they name), so keep them real: relative file names, no
// placeholders.
var examples = map[string][]string{
	"version":      {"obzvon version"},
	"serve":        {"obzvon serve --config obzvon.toml --log-format json"},
	"check-config": {"obzvon check-config obzvon.toml"},
	"plan": {
		"obzvon plan --calls-per-hour 200 --aht 180 --target 80/20",
		"obzvon plan --calls-per-hour 200 --aht 180 --patience 60 --json",
	},
	"simulate": {"obzvon simulate --modes progressive --agents 10 --p 0.3 --hours 0.5 --warmup 5m"},
	"agent add": {
		"obzvon agent add ivanova --name 'Иванова Анна Сергеевна' --role operator_l1 --ext 1001",
		"obzvon agent add petrov --name 'Петров Пётр' --role supervisor --role admin --no-sip --json",
	},
	"agent list":    {"obzvon agent list", "obzvon agent list --json"},
	"agent passwd":  {"obzvon agent passwd ivanova", "obzvon agent passwd ivanova --sip"},
	"agent disable": {"obzvon agent disable petrov", "obzvon agent disable petrov --enable"},
	"registry generate": {
		"obzvon registry generate registry.csv --rows 1000",
	},
	"registry load": {
		"obzvon registry load registry.csv",
		"obzvon registry load registry.csv --json --report errors.csv",
	},
	"registry search": {"obzvon registry search --surname иван --birth 01.02.1960"},
	"catalog load":    {"obzvon catalog load --default", "obzvon catalog load catalog"},
	"catalog search":  {"obzvon catalog search замена полиса", "obzvon catalog search полис --kind consultation --json"},
	"journal calls": {
		"obzvon journal calls --from 2026-03-01 --to 2026-03-02",
		"obzvon journal calls --from '2026-03-01 08:00' --json",
	},
	"journal events": {
		"obzvon journal events --from 2026-03-01 --to 2026-03-02",
		"obzvon journal events --stream acd",
	},
	"journal search":     {"obzvon journal search --phone 89123456789"},
	"journal export":     {"obzvon journal export --from 2026-03-01 --format csv"},
	"journal audit":      {"obzvon journal audit --subject account:ivanova"},
	"journal check":      {"obzvon journal check"},
	"journal backup":     {"obzvon journal backup obzvon-journal.bak"},
	"journal restore":    {"obzvon journal restore obzvon-journal.bak journal.new"},
	"journal rotate-key": {"obzvon journal rotate-key --dir encrypted --old-key-file journal.key --new-key-file journal.key.new"},

	// Campaigns: disp-2026 (screening, from the survey list), dispnab-2026
	// (a script file of one's own and settings), callbacks-2026 (deferred
	// appeals). The examples test prepares them with no daemon running and
	// starts, pauses and stops them on the daemon.
	"campaign create": {
		"obzvon campaign create disp-2026 --title 'Диспансеризация 2026' --script screening",
		"obzvon campaign create dispnab-2026 --title 'Диспансерный учёт 2026' --script-file followup.toml --settings dispnab-2026.json",
		"obzvon campaign create callbacks-2026 --title 'Обратные звонки по обращениям' --script followup --mode preview --json",
	},
	"campaign load": {
		"obzvon campaign load disp-2026 survey-list.csv",
		"obzvon campaign load dispnab-2026 survey-list-cp1251.csv",
		"obzvon campaign load dispnab-2026 survey-list.xlsx --json",
	},
	"campaign dnc": {
		"obzvon campaign dnc 89609139099 --reason 'просил не звонить'",
		"obzvon campaign dnc --file dnc.csv --campaign disp-2026",
		"obzvon campaign dnc --list",
		"obzvon campaign dnc --list --phone '8 (960) 913-90-99' --json",
		"obzvon campaign dnc --export dnc-list.csv --cp1251",
		"obzvon campaign dnc --remove 89609139099 --reason 'попросил звонить (обращение 2026-000123)'",
		"obzvon campaign dnc --remove '+7 936 671-27-68' --reason 'добавлен по ошибке' --json",
	},
	"campaign status": {
		"obzvon campaign status",
		"obzvon campaign status disp-2026",
		"obzvon campaign status dispnab-2026 --json",
	},
	"campaign why": {
		"obzvon campaign why disp-2026 2681590830166131",
		"obzvon campaign why disp-2026 '8 (993) 786-57-97' --json",
	},
	"campaign export": {
		"obzvon campaign export disp-2026 results.xlsx",
		"obzvon campaign export disp-2026 results-260045.csv --cp1251 --mo 260045",
	},
	"campaign start":     {"obzvon campaign start disp-2026"},
	"campaign pause":     {"obzvon campaign pause disp-2026 --reason 'совещание операторов'"},
	"campaign callbacks": {"obzvon campaign callbacks callbacks-2026", "obzvon campaign callbacks callbacks-2026 --json"},
	"campaign stop":      {"obzvon campaign stop disp-2026 --reason 'список отработан'"},

	// These act on the running daemon's ACD (the examples test starts one
	// on the sandbox's journal, with ivanova's phone registered).
	"agent start":      {"obzvon agent start ivanova --ring"},
	"agent pause":      {"obzvon agent pause ivanova обед"},
	"agent ready":      {"obzvon agent ready ivanova"},
	"agent status":     {"obzvon agent status", "obzvon agent status ivanova --json"},
	"queue status":     {"obzvon queue status", "obzvon queue status --json"},
	"report queues":    {"obzvon report queues", "obzvon report queues --interval 30m --json"},
	"report queue-log": {"obzvon report queue-log"},
	"agent finish":     {"obzvon agent finish ivanova"},
}

// addExamples puts each command's examples at the end of its description.
func addExamples(cmds []*cli.Command, prefix string) {
	for _, c := range cmds {
		path := strings.TrimSpace(prefix + " " + c.Name)
		if ex := examples[path]; len(ex) > 0 {
			if c.Description != "" {
				c.Description += "\n\n"
			}
			c.Description += "EXAMPLES:\n  " + strings.Join(ex, "\n  ")
		}
		addExamples(c.Subcommands, path)
	}
}
