package config

// Who may use a route (toll-fraud protection, issue 11): a dial route to an
// external target places a call at the appliance's expense, so by default
// only authenticated operator phones may reach it; IVR routes and dial
// routes to the appliance's own phones are for anyone.

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// Who may use a route: the values of a route's allow list besides
// networks.
const (
	// AllowAnyone admits every caller, anonymous ones included.
	AllowAnyone = "anyone"
	// AllowPhones admits operator phones that authenticate with their
	// account's SIP secret (the INVITE is challenged with 401).
	AllowPhones = "phones"
)

// Access is a route's parsed allow list.
type Access struct {
	// Anyone admits every caller.
	Anyone bool
	// Phones admits callers that authenticate as an account.
	Phones bool
	// Networks admit callers by source address: trunks, PBXs. Callers
	// from them are trusted: their caller ID is passed on and their media
	// is sent before any RTP arrives from them.
	Networks []netip.Prefix
}

// External reports whether a dial route calls out of the appliance (a SIP
// URI), as opposed to one of its registered phones (reg:USER).
func (r Route) External() bool {
	return r.Action == ActionDial && !strings.HasPrefix(r.Target, "reg:")
}

// Access returns who may use the route. Without an allow list, a dial
// route to an external target admits authenticated phones only; every
// other route admits anyone.
func (r Route) Access() Access {
	allow := r.Allow
	if allow == nil {
		if r.External() {
			allow = []string{AllowPhones}
		} else {
			allow = []string{AllowAnyone}
		}
	}
	var a Access
	for _, s := range allow {
		switch s {
		case AllowAnyone:
			a.Anyone = true
		case AllowPhones:
			a.Phones = true
		default:
			if p, err := parsePrefix(s); err == nil {
				a.Networks = append(a.Networks, p)
			}
		}
	}
	return a
}

// Trusted reports whether addr is in one of the access's networks.
func (a Access) Trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range a.Networks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

var callerIDRE = regexp.MustCompile(`^\+?[0-9]{1,20}$`)

// validateRouteAccess checks every route's allow list and caller ID.
func (c *Config) validateRouteAccess() []error {
	var errs []error
	for i, r := range c.Routes {
		key := fmt.Sprintf("route[%d]", i)
		if r.Allow != nil && len(r.Allow) == 0 {
			errs = append(errs, &FieldError{Key: key + ".allow", Value: r.Allow, Msg: `empty: nobody could use the route; list "anyone", "phones" or networks`})
		}
		for j, s := range r.Allow {
			if s == AllowAnyone || s == AllowPhones {
				continue
			}
			if _, err := parsePrefix(s); err != nil {
				errs = append(errs, &FieldError{Key: fmt.Sprintf("%s.allow[%d]", key, j), Value: s,
					Msg: `want "anyone", "phones", or a network (192.0.2.0/24) or address of a trunk`})
			}
		}
		if r.CallerID != "" && !callerIDRE.MatchString(r.CallerID) {
			errs = append(errs, &FieldError{Key: key + ".caller_id", Value: r.CallerID, Msg: "want a number: digits with an optional leading +"})
		}
		if r.CallerID != "" && r.Action != ActionDial {
			errs = append(errs, &FieldError{Key: key + ".caller_id", Value: r.CallerID, Msg: "only a dial route has a caller ID"})
		}
	}
	return errs
}

// Warnings returns what check-config should point out although it is
// valid: routes that let anyone place calls to external targets at the
// appliance's expense (directly, or through a menu).
func (c *Config) Warnings() []string {
	var out []string
	for i, r := range c.Routes {
		if !r.External() {
			continue
		}
		if r.Access().Anyone {
			out = append(out, fmt.Sprintf("route[%d] (%s): allow = \"anyone\" lets any caller, anonymous ones included, call %s at your expense (toll fraud); allow \"phones\" or your trunks' networks instead", i, r.Name, r.Target))
		}
	}
	for i, r := range c.Routes {
		if r.Action != ActionMenu || !r.Access().Anyone {
			continue
		}
		for d, name := range r.Choices {
			if next, ok := c.RouteByName(name); ok && next.External() {
				out = append(out, fmt.Sprintf("route[%d] (%s): choice %s leads anyone who reaches the menu to %s (route %s): callers can reach an external target through it", i, r.Name, d, next.Target, next.Name))
			}
		}
	}
	return out
}

// numberRE is what a called number may be: digits, * and #, with an
// optional leading +.
var numberRE = regexp.MustCompile(`^\+?[0-9*#]{1,32}$`)

// ValidNumber reports whether s is a dialable number: up to 32 digits, *
// and #, with an optional leading +. Anything else (letters, URI
// parameters, escapes) never matches a route.
func ValidNumber(s string) bool { return numberRE.MatchString(s) }
