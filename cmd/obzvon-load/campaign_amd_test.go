package main

import (
	"testing"
	"time"

	"github.com/obzvon/obzvon/media"
)

// What the appliance's answering-machine detection decides on the trunk's
// campaign audio, and after how much of it: make bench-campaign gives the
// simulator these times when its run counted no decisions
// (scripts/bench-campaign.sh), and the run's own come out near them. A
// live answer is a steady tone, no speech: "unknown" once the campaign's
// amd_initial_silence (the bench's 1 s) has passed without a word; a
// machine's greeting is Russian speech: "machine" by the long-greeting
// rule, 1.8 s of speech after its first word.
func TestCampaignTrunkAMDDecisions(t *testing.T) {
	pcm := func(a *audioSrc, d time.Duration) []int16 {
		var s []int16
		for i := 0; i < int(d/(packetPeriod*time.Millisecond)); i++ {
			s = decodeG711(s, ptPCMU, a.frame(ptPCMU, i))
		}
		return s
	}
	greeting, err := greetingSrc(8 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cfg := media.AMDConfig{InitialSilence: time.Second}
	for _, tc := range []struct {
		name   string
		src    *audioSrc
		want   media.AMDVerdict
		lo, hi time.Duration
	}{
		{"live answer (callee tone)", toneSrc(clsCallee), media.AMDUnknown, time.Second, time.Second},
		{"machine (greeting)", greeting, media.AMDMachine, 1800 * time.Millisecond, 2100 * time.Millisecond},
	} {
		r, err := media.DetectMachineIn(pcm(tc.src, 6*time.Second), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v after %v (%s)", tc.name, r.Verdict, r.DecidedAfter, r.Reason)
		if r.Verdict != tc.want || r.DecidedAfter < tc.lo || r.DecidedAfter > tc.hi {
			t.Errorf("%s: %v after %v, want %v after %v..%v", tc.name, r.Verdict, r.DecidedAfter, tc.want, tc.lo, tc.hi)
		}
	}
}
