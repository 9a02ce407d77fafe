// Package weakpass refuses passwords and SIP secrets that a guessing
// attack tries first: too short, on a list of common passwords (Openwall's
// public-domain password.lst, 2011, plus common keyboard walks, Russian
// ones and VoIP defaults), one character repeated, a run of digits or
// letters, or the account's own name.
package weakpass

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed common.txt
var commonText string

var common = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 4096)
	for _, w := range strings.Split(commonText, "\n") {
		if w = strings.TrimSpace(w); w != "" {
			m[w] = struct{}{}
		}
	}
	return m
})

// Sentinel errors; Check wraps them with details.
var (
	// ErrTooShort: fewer characters than asked for.
	ErrTooShort = errors.New("too short")
	// ErrCommon: a common password, or one made of a common password
	// and digits or punctuation around it.
	ErrCommon = errors.New("a common password")
	// ErrPattern: one character repeated, a sequence (12345…, abcd…) or
	// digits only where letters are required.
	ErrPattern = errors.New("too simple a pattern")
	// ErrPersonal: contains the account's login or extension.
	ErrPersonal = errors.New("contains the login or extension")
)

// Check returns nil when s is at least min characters long, not common,
// not a trivial pattern and does not contain any of personal (the login,
// the extension; compared case-insensitively, items shorter than 3
// ignored). The error names the reason, never the secret.
func Check(s string, min int, personal ...string) error {
	if n := utf8.RuneCountInString(s); n < min {
		return fmt.Errorf("%w: %d characters, at least %d needed", ErrTooShort, n, min)
	}
	low := strings.ToLower(s)
	if isCommon(low) {
		return ErrCommon
	}
	if repeated(low) || sequence(low) {
		return ErrPattern
	}
	for _, p := range personal {
		if p = strings.ToLower(strings.TrimSpace(p)); len(p) >= 3 && strings.Contains(low, p) {
			return ErrPersonal
		}
	}
	return nil
}

// isCommon looks the secret up as it is and with digits and punctuation
// stripped from both ends ("Password2024!" is "password").
func isCommon(low string) bool {
	c := common()
	if _, ok := c[low]; ok {
		return true
	}
	core := strings.TrimFunc(low, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	if core == "" {
		return false
	}
	_, ok := c[core]
	return ok
}

// repeated: at most two distinct characters ("aaaaaaaaaa", "abababab").
func repeated(s string) bool {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
		if len(seen) > 2 {
			return false
		}
	}
	return true
}

// sequence: every character one up or one down from the previous
// ("1234567890", "abcdefghij", "9876543210").
func sequence(s string) bool {
	rs := []rune(s)
	if len(rs) < 3 {
		return false
	}
	d := rs[1] - rs[0]
	if d != 1 && d != -1 {
		return false
	}
	for i := 2; i < len(rs); i++ {
		step := rs[i] - rs[i-1]
		if step != d && !(d == 1 && rs[i-1] == '9' && rs[i] == '0') {
			return false
		}
	}
	return true
}
