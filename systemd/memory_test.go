package systemd

import (
	"strconv"
	"strings"
	"testing"
)

// The largest memory figures measured (README, "Memory ceiling"): the Go
// heap peaks during a 3-million-person registry load (RssAnon 1.34 GB);
// floods now stay far below (1,000 concurrent logins: 127 MB RSS).
const measuredHeapPeak = 1340 << 20

// parseSize reads a systemd or GOMEMLIMIT size: 3G, 2560M, 1536MiB.
func parseSize(t *testing.T, s string) int64 {
	t.Helper()
	mult := map[string]int64{"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
	for suf, m := range mult {
		if n, ok := strings.CutSuffix(s, suf); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil {
				return v * m
			}
		}
	}
	t.Fatalf("size %q: want a number with K, M, G (KiB, MiB, GiB)", s)
	return 0
}

// The unit caps the service's memory so a flood or a leak ends in the
// Go runtime collecting harder and the kernel reclaiming page cache, not
// in the OOM killer taking the host's calls down: GOMEMLIMIT above the
// largest heap measured, below MemoryHigh, below MemoryMax.
func TestUnitMemoryCeiling(t *testing.T) {
	unit := parseUnit(t, "obzvon.service")
	svc := unit["Service"]
	if len(svc["MemoryHigh"]) != 1 || len(svc["MemoryMax"]) != 1 {
		t.Fatalf("MemoryHigh %q MemoryMax %q: want one each", svc["MemoryHigh"], svc["MemoryMax"])
	}
	var goLimit int64
	for _, e := range svc["Environment"] {
		if v, ok := strings.CutPrefix(e, "GOMEMLIMIT="); ok {
			goLimit = parseSize(t, v)
		}
	}
	high, hard := parseSize(t, svc["MemoryHigh"][0]), parseSize(t, svc["MemoryMax"][0])
	switch {
	case goLimit == 0:
		t.Errorf("no Environment=GOMEMLIMIT=…")
	case goLimit < measuredHeapPeak:
		t.Errorf("GOMEMLIMIT %d MiB is below the largest heap measured (%d MiB): the runtime would collect without end", goLimit>>20, measuredHeapPeak>>20)
	case goLimit >= high || high >= hard:
		t.Errorf("GOMEMLIMIT %d MiB, MemoryHigh %d MiB, MemoryMax %d MiB: want them rising", goLimit>>20, high>>20, hard>>20)
	}
}
