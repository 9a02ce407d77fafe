package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// runApp runs app on args with flags allowed after positional arguments.
func runApp(app *cli.App, args []string) error {
	return app.Run(reorderArgs(app, helpPath(app, args)))
}

// helpPath turns `obzvon help campaign dnc` into `obzvon campaign dnc
// --help`: urfave/cli's help command looks at its first argument only,
// and showed the help of `campaign` instead. Anything that is not a path
// of commands is left as it is.
func helpPath(app *cli.App, args []string) []string {
	if len(args) < 3 || (args[1] != "help" && args[1] != "h") {
		return args
	}
	cmds := app.Commands
	for _, a := range args[2:] {
		i := slices.IndexFunc(cmds, func(c *cli.Command) bool { return c.HasName(a) })
		if i < 0 {
			return args
		}
		cmds = cmds[i].Subcommands
	}
	return append(append([]string{args[0]}, args[2:]...), "--help")
}

// reorderArgs moves the flags of the command that args name in front of
// its positional arguments, so `obzvon agent add LOGIN --json` parses as
// `obzvon agent add --json LOGIN`: urfave/cli v2 (like Go's flag package)
// stops reading flags at the first positional argument, and treats the
// rest as arguments. A flag that takes a value keeps the value after it;
// everything after "--" stays positional. Unknown flags are moved too, so
// the command reports them as usual.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := append(make([]string, 0, len(args)), args[0])
	cmds, flags := app.Commands, app.Flags
	i := 1
	for i < len(args) {
		a := args[i]
		if a == "--" {
			break
		}
		if isFlag(a) {
			n := flagArity(flags, a)
			out = append(out, args[i:min(i+1+n, len(args))]...)
			i += 1 + n
			continue
		}
		var cmd *cli.Command
		for _, c := range cmds {
			if c.HasName(a) {
				cmd = c
			}
		}
		if cmd == nil {
			break // not a command: leave the rest as it is
		}
		out = append(out, a)
		i++
		if len(cmd.Subcommands) > 0 {
			cmds, flags = cmd.Subcommands, cmd.Flags
			continue
		}
		var fl, pos []string
		dashdash := false
		for i < len(args) {
			a := args[i]
			switch {
			case a == "--":
				pos = append(pos, args[i+1:]...)
				dashdash = true
				i = len(args)
				continue
			case isFlag(a):
				n := flagArity(cmd.Flags, a)
				fl = append(fl, args[i:min(i+1+n, len(args))]...)
				i += 1 + n
				continue
			}
			pos = append(pos, a)
			i++
		}
		out = append(out, fl...)
		if dashdash || slices.ContainsFunc(pos, isFlag) {
			out = append(out, "--")
		}
		return append(out, pos...)
	}
	return append(out, args[i:]...)
}

// isFlag reports whether a looks like a flag: "-x", "--name", "--name=v";
// "-" alone (standard input) is an argument.
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' }

// flagArity is 1 when the flag a takes its value from the next argument
// (not a boolean flag, no "=value"), else 0.
func flagArity(flags []cli.Flag, a string) int {
	name := strings.TrimLeft(a, "-")
	if strings.Contains(name, "=") {
		return 0
	}
	for _, f := range flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		if _, ok := f.(*cli.BoolFlag); ok {
			return 0
		}
		return 1
	}
	return 0 // unknown: let the command report it
}
