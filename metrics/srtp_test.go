package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSRTPDrops(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	n := SRTPCounters{AuthFailures: 3, Replays: 1}
	if err := RegisterSRTP(reg, func() SRTPCounters { return n }); err != nil {
		t.Fatal(err)
	}
	want := `# HELP obzvon_srtp_dropped_packets_total Received SRTP packets dropped by the media engine: failed authentication (auth) or replays (replay).
# TYPE obzvon_srtp_dropped_packets_total counter
obzvon_srtp_dropped_packets_total{reason="auth"} 3
obzvon_srtp_dropped_packets_total{reason="replay"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "obzvon_srtp_dropped_packets_total"); err != nil {
		t.Error(err)
	}
	n.Replays = 5
	if err := testutil.GatherAndCompare(reg, strings.NewReader(strings.Replace(want, `"replay"} 1`, `"replay"} 5`, 1)), "obzvon_srtp_dropped_packets_total"); err != nil {
		t.Errorf("after more replays: %v", err)
	}
	if err := RegisterSRTP(nil, nil); err != nil {
		t.Errorf("RegisterSRTP(nil, nil) = %v", err)
	}
}
