// Command obzvon is the dialer appliance: one binary that serves SIP, media,
// the journal and the HTTP API, plus the staff commands that talk to it.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Exit codes of the obzvon command.
const (
	exitOK       = 0 // success
	exitFailure  = 1 // the command ran and failed (bad config, failed start)
	exitUsage    = 2 // the command line itself was wrong
	exitSignaled = 3 // a second signal forced an immediate exit
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args))
}

func run(args []string) int {
	app := newApp()
	if err := runApp(app, args); err != nil {
		if ec, ok := err.(cli.ExitCoder); ok {
			if msg := ec.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, "obzvon:", msg)
			}
			return ec.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "obzvon:", err)
		return exitFailure
	}
	return exitOK
}

func newApp() *cli.App {
	app := &cli.App{
		Name:    "obzvon",
		Usage:   "dialer appliance for contact centers: inbound routing and IVR, in-process media and recording, the journal of appeals (ACD queues and outbound dialing are being built)",
		Version: version,
		// Commands are listed here; each lives in its own file as a func
		// returning *cli.Command.
		Commands: []*cli.Command{
			versionCommand(),
			serveCommand(),
			checkConfigCommand(),
			journalCommand(),
			planCommand(),
			agentCommand(),
			simulateCommand(),
			registryCommand(),
			catalogCommand(),
			campaignCommand(),
			queueCommand(),
			reportCommand(),
			manCommand(),
		},
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return cli.Exit(fmt.Sprintf("%v\nTry: obzvon %s --help", err, c.Command.Name), exitUsage)
		},
	}
	addExamples(app.Commands, "")
	addUsageErrors(app.Commands, "")
	return app
}

// addUsageErrors makes a command line a command cannot parse (an unknown
// flag, a flag without its value) exit with exitUsage and a hint naming
// the command's whole path, as the top level does, instead of the
// command's full help under "Incorrect Usage" and exit 1.
func addUsageErrors(cmds []*cli.Command, prefix string) {
	for _, c := range cmds {
		path := strings.TrimSpace(prefix + " " + c.Name)
		if c.OnUsageError == nil {
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return cli.Exit(fmt.Sprintf("%v\nTry: obzvon %s --help", err, path), exitUsage)
			}
		}
		addUsageErrors(c.Subcommands, path)
	}
}

// manCommand prints the manual page (roff), for the Debian package.
func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the manual page (roff)",
		Hidden: true,
		Action: func(c *cli.Context) error {
			page, err := c.App.ToMan()
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			fmt.Fprint(c.App.Writer, page)
			return nil
		},
	}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, version)
			return nil
		},
	}
}
