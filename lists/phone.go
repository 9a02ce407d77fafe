package lists

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// ErrPhone is wrapped by every phone normalization error.
var ErrPhone = errors.New("bad phone number")

// Phone is a checked phone number.
type Phone struct {
	// E164 is the number in E.164 ("+79123456789").
	E164 string `json:"e164"`
	// Type is "mobile", "fixed", "toll_free", "voip" or "" when the
	// numbering plan does not say.
	Type string `json:"type,omitempty"`
	// Zone is the IANA time zone of a geographic (fixed-line) number
	// when the numbering plan gives exactly one; empty otherwise (Russian
	// mobile numbers are not tied to a region).
	Zone string `json:"zone,omitempty"`
}

// ParsePhone checks a phone number as people type it, by the numbering
// plan of libphonenumber (github.com/nyaruka/phonenumbers): "8 (912)
// 345-67-89", "89123456789", "9123456789", "+7 912 345 67 89" and
// "7 912 345-67-89" are all +79123456789. Spaces, dashes, dots and
// parentheses are ignored. Only numbers of country code 7 that lie in an
// allocated range are accepted; anything else is an error wrapping
// ErrPhone.
func ParsePhone(s string) (Phone, error) {
	in := strings.TrimSpace(s)
	var d []byte
	for i, r := range in {
		switch {
		case r >= '0' && r <= '9':
			d = append(d, byte(r))
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '\u00a0':
		default:
			return Phone{}, fmt.Errorf("%w: %q has %q", ErrPhone, s, r)
		}
	}
	plus := strings.HasPrefix(in, "+")
	switch {
	case len(d) == 0:
		return Phone{}, fmt.Errorf("%w: empty", ErrPhone)
	case len(d) == 10 && !plus:
		// national number without the trunk prefix: 9123456789
	case len(d) == 11 && d[0] == '8' && !plus:
		d = d[1:]
	case len(d) == 11 && d[0] == '7':
		d = d[1:]
	default:
		return Phone{}, fmt.Errorf("%w: %q is not a Russian number (+7 and 10 digits)", ErrPhone, s)
	}
	info := rangeOf(string(d))
	if info.typ == phonenumbers.UNKNOWN {
		return Phone{}, fmt.Errorf("%w: %q is not in any allocated number range of +7", ErrPhone, s)
	}
	p := Phone{E164: "+7" + string(d), Zone: info.zone}
	switch info.typ {
	case phonenumbers.MOBILE:
		p.Type = "mobile"
	case phonenumbers.FIXED_LINE:
		p.Type = "fixed"
	case phonenumbers.TOLL_FREE:
		p.Type = "toll_free"
	case phonenumbers.VOIP:
		p.Type = "voip"
	}
	return p, nil
}

// rangeInfo is what the numbering plan says about a block of numbers.
type rangeInfo struct {
	typ  phonenumbers.PhoneNumberType
	zone string
}

// Russian numbers are allocated in blocks of 10,000 (the code and the
// first three digits of the subscriber number: 6 digits of the national
// number), and libphonenumber's Russian patterns are coarser than that, so
// the type and zone of a block are looked up once and kept: asking
// libphonenumber costs some 15 µs a number, which a registry of millions
// of rows would feel. The cache holds at most maxRanges blocks.
var (
	rangeMu    sync.Mutex
	rangeCache = map[string]rangeInfo{}
)

const maxRanges = 1 << 17

// rangeOf returns the type and zone of a 10-digit Russian national number.
func rangeOf(national string) rangeInfo {
	key := national[:6]
	rangeMu.Lock()
	info, ok := rangeCache[key]
	rangeMu.Unlock()
	if ok {
		return info
	}
	nn, _ := strconv.ParseUint(national, 10, 64)
	n := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(7), NationalNumber: proto.Uint64(nn)}
	info.typ = phonenumbers.GetNumberType(n)
	if info.typ == phonenumbers.FIXED_LINE {
		if tz, err := phonenumbers.GetTimezonesForNumber(n); err == nil && len(tz) == 1 && tz[0] != phonenumbers.UNKNOWN_TIMEZONE {
			info.zone = tz[0]
		}
	}
	rangeMu.Lock()
	if len(rangeCache) >= maxRanges {
		clear(rangeCache)
	}
	rangeCache[key] = info
	rangeMu.Unlock()
	return info
}

// NormalizePhone returns ParsePhone's E.164 form of s.
func NormalizePhone(s string) (string, error) {
	p, err := ParsePhone(s)
	return p.E164, err
}

// SplitPhones splits a cell holding several phones ("8912…, 8913…",
// "8912…; 8913…") into its parts.
func SplitPhones(cell string) []string {
	parts := strings.FieldsFunc(cell, func(r rune) bool { return r == ',' || r == ';' || r == '/' || r == '\n' })
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
