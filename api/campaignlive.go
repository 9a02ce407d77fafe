package api

import (
	"time"

	"github.com/obzvon/obzvon/journal"
)

// CampaignLive are a running campaign's live figures as its runner last
// reported them: what campaign staff and supervisors watch.
type CampaignLive struct {
	Campaign string `json:"campaign"`
	// DialLevel is the calls in flight per usable operator (per call
	// slot for an agentless campaign).
	DialLevel float64 `json:"dial_level"`
	// AbandonDay and Abandon30d are the abandoned share of live answers
	// today and over the last 30 days (the regulator's windows).
	AbandonDay float64 `json:"abandon_day"`
	Abandon30d float64 `json:"abandon_30d"`
	// Attempts counts the attempts ended since the daemon started (the
	// desktop reloads the counts when it moves).
	Attempts int       `json:"attempts"`
	Updated  time.Time `json:"updated"`
}

// CampaignFigures gives a campaign's live figures (false: none yet).
type CampaignFigures interface {
	Live(campaign string) (CampaignLive, bool)
}

// campaignLive returns the live figures of a running or paused campaign.
func (s *server) campaignLive(id string, status journal.CampaignStatus) *CampaignLive {
	if s.figures == nil || (status != journal.CampaignRunning && status != journal.CampaignPaused) {
		return nil
	}
	l, ok := s.figures.Live(id)
	if !ok {
		return nil
	}
	l.Campaign = id
	return &l
}
