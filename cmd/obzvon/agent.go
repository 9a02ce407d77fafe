package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/user"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/journal"
)

// cliActor is who the audit log records for a command run on the server
// itself: the operating-system user, with administrator rights (whoever
// can open the journal directory can do anything to it anyway).
func cliActor() journal.Actor {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return journal.Actor{Login: "cli:" + name, Role: journal.RoleAdmin}
}

// printable makes a stored name safe for a terminal table: invalid UTF-8
// and control characters (an account stored before names were checked)
// become U+FFFD, and a very long name is cut.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if r := []rune(s); len(r) > journal.MaxDisplayName {
		s = string(r[:journal.MaxDisplayName]) + "…"
	}
	return s
}

// newSecret returns a random secret of n characters that is easy to type.
func newSecret(n int) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// readSecret reads one line from stdin (for --password-stdin).
func readSecret(c *cli.Context) (string, error) {
	r := bufio.NewReader(c.App.Reader)
	line, err := r.ReadString('\n')
	if err != nil && line == "" {
		return "", cli.Exit("--password-stdin: nothing on standard input", exitUsage)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func agentCommand() *cli.Command {
	return &cli.Command{
		Name:  "agent",
		Usage: "manage accounts of operators, representatives and staff",
		Subcommands: append([]*cli.Command{
			agentAddCommand(), agentListCommand(), agentPasswdCommand(), agentDisableCommand(),
		}, agentWorkCommands()...),
	}
}

func agentAddCommand() *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "add an account; prints generated secrets once",
		ArgsUsage: "LOGIN",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "display name (Иванова Анна Сергеевна)", Required: true},
			&cli.StringSliceFlag{Name: "role", Usage: "role, repeatable: operator_l1 operator_l2 rep_l1 rep_l2 rep_l3 supervisor admin campaign_staff sre", Required: true},
			&cli.StringFlag{Name: "org", Usage: "organization: the fund or an insurance company"},
			&cli.StringFlag{Name: "ext", Usage: "extension (internal number)"},
			&cli.StringSliceFlag{Name: "queue", Usage: "inbound queue, repeatable"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from the first line of standard input instead of generating one"},
			&cli.BoolFlag{Name: "no-sip", Usage: "do not create a SIP secret (no softphone)"},
			&cli.StringFlag{Name: "realm", Value: "obzvon", Usage: "SIP digest realm"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
			journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("agent add needs exactly one LOGIN\nTry: obzvon agent add ivanova --name 'Иванова Анна' --role operator_l1 --ext 1021", exitUsage)
			}
			n := journal.NewAccount{Login: c.Args().First(), DisplayName: c.String("name"), Organization: c.String("org"),
				Extension: c.String("ext"), Queues: c.StringSlice("queue"), SIPRealm: c.String("realm")}
			for _, r := range c.StringSlice("role") {
				role, err := journal.ParseRole(r)
				if err != nil {
					return cli.Exit(fmt.Sprintf("--role %q: %v\nTry: --role operator_l1", r, err), exitUsage)
				}
				n.Roles = append(n.Roles, role)
			}
			generated := false
			if c.Bool("password-stdin") {
				p, err := readSecret(c)
				if err != nil {
					return err
				}
				n.Password = p
			} else {
				n.Password, generated = newSecret(14), true
			}
			if !c.Bool("no-sip") {
				n.SIPSecret = newSecret(16)
			}
			a, err := addAccount(c, n)
			if err != nil {
				return exitOf(err)
			}
			out := struct {
				Login     string `json:"login"`
				Password  string `json:"password,omitempty"`
				SIPSecret string `json:"sip_secret,omitempty"`
				Realm     string `json:"sip_realm,omitempty"`
			}{Login: a.Login, SIPSecret: n.SIPSecret}
			if generated {
				out.Password = n.Password
			}
			if n.SIPSecret != "" {
				out.Realm = n.SIPRealm
			}
			if c.Bool("json") {
				return json.NewEncoder(c.App.Writer).Encode(out)
			}
			fmt.Fprintf(c.App.Writer, "added %s (%s)\n", a.Login, a.DisplayName)
			if out.Password != "" {
				fmt.Fprintf(c.App.Writer, "password:   %s\n", out.Password)
			}
			if out.SIPSecret != "" {
				fmt.Fprintf(c.App.Writer, "SIP user:   %s  realm %s\nSIP secret: %s\n", a.Login, out.Realm, out.SIPSecret)
			}
			if out.Password != "" || out.SIPSecret != "" {
				fmt.Fprintln(c.App.ErrWriter, "Secrets are shown only now; only their hashes are stored.")
			}
			return nil
		},
	}
}

func agentListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list accounts",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}, journalDirFlag, journalKeyFlag, socketFlag},
		Action: func(c *cli.Context) error {
			vs, err := listAccounts(c)
			if err != nil {
				return exitOf(err)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(vs)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LOGIN\tNAME\tROLES\tORGANIZATION\tEXT\tSTATE")
			for _, a := range vs {
				roles := make([]string, len(a.Roles))
				for i, r := range a.Roles {
					roles[i] = r.String()
				}
				state := "active"
				if a.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Login, printable(a.DisplayName), strings.Join(roles, ","), dash(printable(a.Organization)), dash(a.Extension), state)
			}
			return tw.Flush()
		},
	}
}

func agentPasswdCommand() *cli.Command {
	return &cli.Command{
		Name:      "passwd",
		Usage:     "set a new password (or, with --sip, a new SIP secret); prints a generated one once",
		ArgsUsage: "LOGIN",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "sip", Usage: "change the SIP secret instead of the password"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read the new secret from standard input instead of generating one"},
			&cli.StringFlag{Name: "realm", Value: "obzvon", Usage: "SIP digest realm"},
			journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("agent passwd needs exactly one LOGIN\nTry: obzvon agent passwd ivanova", exitUsage)
			}
			login := c.Args().First()
			secret, generated := "", false
			if c.Bool("password-stdin") {
				s, err := readSecret(c)
				if err != nil {
					return err
				}
				secret = s
			} else {
				secret, generated = newSecret(14), true
			}
			err := setSecret(c, login, c.Bool("sip"), c.String("realm"), secret)
			if errors.Is(err, journal.ErrNotFound) || isStatus(err, http.StatusNotFound) {
				return cli.Exit(fmt.Sprintf("no account %q\nTry: obzvon agent list", login), exitFailure)
			}
			if err != nil {
				return exitOf(err)
			}
			if generated {
				fmt.Fprintln(c.App.Writer, secret)
			}
			return nil
		},
	}
}

func agentDisableCommand() *cli.Command {
	return &cli.Command{
		Name:      "disable",
		Usage:     "disable an account (no login, no softphone, tokens stop working); --enable undoes it",
		ArgsUsage: "LOGIN",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "enable", Usage: "enable the account again"}, journalDirFlag, journalKeyFlag, socketFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("agent disable needs exactly one LOGIN\nTry: obzvon agent disable ivanova", exitUsage)
			}
			err := setDisabled(c, c.Args().First(), !c.Bool("enable"))
			if errors.Is(err, journal.ErrNotFound) || isStatus(err, http.StatusNotFound) {
				return cli.Exit(fmt.Sprintf("no account %q\nTry: obzvon agent list", c.Args().First()), exitFailure)
			}
			if err != nil {
				return exitOf(err)
			}
			return nil
		},
	}
}

// addedAccount is what agent add reports of a new account.
type addedAccount struct {
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
}

// addAccount adds n through a running daemon, or in the journal directory
// when none answers. The secrets in n are generated here either way, so
// they can be shown once; the daemon stores only their hashes.
func addAccount(c *cli.Context, n journal.NewAccount) (addedAccount, error) {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return addedAccount{}, err
	}
	if d != nil {
		roles := make([]string, len(n.Roles))
		for i, r := range n.Roles {
			roles[i] = r.String()
		}
		var out addedAccount
		err := d.do(ctx, http.MethodPost, "/api/v1/accounts", struct {
			Login        string   `json:"login"`
			DisplayName  string   `json:"display_name"`
			Roles        []string `json:"roles"`
			Organization string   `json:"organization,omitempty"`
			Extension    string   `json:"extension,omitempty"`
			Queues       []string `json:"queues,omitempty"`
			Password     string   `json:"password,omitempty"`
			SIPSecret    string   `json:"sip_secret,omitempty"`
			SIPRealm     string   `json:"sip_realm,omitempty"`
		}{n.Login, n.DisplayName, roles, n.Organization, n.Extension, n.Queues, n.Password, n.SIPSecret, n.SIPRealm}, "", &out)
		return out, err
	}
	j, err := openJournal(c, false)
	if err != nil {
		return addedAccount{}, err
	}
	defer j.Close()
	a, err := j.AddAccount(ctx, cliActor(), n)
	if err != nil {
		return addedAccount{}, err
	}
	return addedAccount{a.Login, a.DisplayName}, nil
}

// accountRow is an account as agent list shows it (its --json form).
type accountRow struct {
	Login        string         `json:"login"`
	DisplayName  string         `json:"display_name"`
	Roles        []journal.Role `json:"roles"`
	Organization string         `json:"organization,omitempty"`
	Extension    string         `json:"extension,omitempty"`
	Queues       []string       `json:"queues,omitempty"`
	SIP          bool           `json:"sip"`
	Disabled     bool           `json:"disabled"`
}

// listAccounts reads the accounts through a running daemon, or from the
// journal directory when none answers.
func listAccounts(c *cli.Context) ([]accountRow, error) {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return nil, err
	}
	vs := []accountRow{}
	if d != nil {
		var as []struct {
			accountRow
			HasSIP bool `json:"has_sip"`
		}
		if err := d.get(ctx, "/api/v1/accounts", nil, &as); err != nil {
			return nil, err
		}
		for _, a := range as {
			a.SIP = a.HasSIP
			vs = append(vs, a.accountRow)
		}
		return vs, nil
	}
	j, err := openJournal(c, true)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	as, err := j.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		vs = append(vs, accountRow{a.Login, a.DisplayName, a.Roles, a.Organization, a.Extension, a.Queues, a.SIPHA1MD5 != "", a.Disabled})
	}
	return vs, nil
}

// setSecret sets login's password (or, with sip, its SIP secret in realm)
// through a running daemon, or in the journal directory.
func setSecret(c *cli.Context, login string, sip bool, realm, secret string) error {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return err
	}
	if d != nil {
		path := "/api/v1/accounts/" + url.PathEscape(login)
		if sip {
			return d.do(ctx, http.MethodPost, path+"/sip-secret", map[string]string{"secret": secret, "realm": realm}, "", nil)
		}
		return d.do(ctx, http.MethodPost, path+"/password", map[string]string{"password": secret}, "", nil)
	}
	j, err := openJournal(c, false)
	if err != nil {
		return err
	}
	defer j.Close()
	if sip {
		return j.SetSIPSecret(ctx, cliActor(), login, realm, secret)
	}
	return j.SetPassword(ctx, cliActor(), login, secret)
}

// setDisabled disables or enables login through a running daemon, or in
// the journal directory.
func setDisabled(c *cli.Context, login string, disabled bool) error {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return err
	}
	if d != nil {
		verb := "enable"
		if disabled {
			verb = "disable"
		}
		return d.do(ctx, http.MethodPost, "/api/v1/accounts/"+url.PathEscape(login)+"/"+verb, nil, "", nil)
	}
	j, err := openJournal(c, false)
	if err != nil {
		return err
	}
	defer j.Close()
	return j.SetDisabled(ctx, cliActor(), login, disabled)
}
