package lists

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

func TestParsePhone(t *testing.T) {
	tests := []struct {
		in, want, typ, zone string
		ok                  bool
	}{
		{"89123456789", "+79123456789", "mobile", "", true},
		{"8 (912) 345-67-89", "+79123456789", "mobile", "", true},
		{"9123456789", "+79123456789", "mobile", "", true},
		{"+7 912 345 67 89", "+79123456789", "mobile", "", true},
		{"7 912 345-67-89", "+79123456789", "mobile", "", true},
		{" 8-800-200-00-00 ", "+78002000000", "toll_free", "", true},
		{"8652 12-34-56", "+78652123456", "fixed", "Europe/Moscow", true}, // Stavropol landline
		{"8 (495) 123-45-67", "+74951234567", "fixed", "Europe/Moscow", true},
		{"52 12-34-56", "", "", "", false},
		{"", "", "", "", false},
		{"+8 912 345 67 89", "", "", "", false},
		{"+1 212 555 0100", "", "", "", false}, // valid, but not +7
		{"8912345678x", "", "", "", false},
		{"891234567890", "", "", "", false},
		{"8 (012) 345-67-89", "", "", "", false}, // no such range: the old parser took it
		{"8 (912) 345-67-8", "", "", "", false},
	}
	for _, tt := range tests {
		got, err := ParsePhone(tt.in)
		if tt.ok && (err != nil || got.E164 != tt.want || got.Type != tt.typ || got.Zone != tt.zone) {
			t.Errorf("ParsePhone(%q) = %+v, %v, want %s %s %q", tt.in, got, err, tt.want, tt.typ, tt.zone)
		}
		if !tt.ok && !errors.Is(err, ErrPhone) {
			t.Errorf("ParsePhone(%q) = %+v, %v, want ErrPhone", tt.in, got, err)
		}
		if n, err := NormalizePhone(tt.in); tt.ok && n != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v", tt.in, n, err)
		}
	}
}

func TestSplitPhones(t *testing.T) {
	got := SplitPhones(" 89123456789, 8 (913) 000-00-00; ;89140000000 ")
	if len(got) != 3 || got[1] != "8 (913) 000-00-00" {
		t.Errorf("SplitPhones = %q", got)
	}
}

func BenchmarkParsePhone(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParsePhone("8 (912) 345-67-89"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRangeCacheExact checks the premise of the block cache: within a
// block of 10,000 numbers libphonenumber gives every number the same type
// and zone as the block's first number looked up.
func TestRangeCacheExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		block := fmt.Sprintf("%06d", rng.IntN(1_000_000))
		if block[0] == '0' {
			continue
		}
		clear(rangeCache)
		first := rangeOf(block + "0000")
		for k := 0; k < 3; k++ {
			nat := fmt.Sprintf("%s%04d", block, rng.IntN(10000))
			nn, _ := strconv.ParseUint(nat, 10, 64)
			n := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(7), NationalNumber: proto.Uint64(nn)}
			if typ := phonenumbers.GetNumberType(n); typ != first.typ {
				t.Fatalf("number %s has type %v, its block's first %v", nat, typ, first.typ)
			}
		}
	}
}
