package campaigns

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// ErrBadEstimates reports a saved Estimates that cannot be restored.
var ErrBadEstimates = errors.New("bad saved estimates")

// estimatesVersion is the version of the saved form; bin layouts are part
// of it, so a change of layout needs a new version.
const estimatesVersion = 1

type distJSON struct {
	Weights []float64 `json:"weights"`
	Total   float64   `json:"total"`
	Inc     float64   `json:"inc"`
}

type estimatesJSON struct {
	Version  int      `json:"version"`
	LiveW    float64  `json:"live_w"`
	AllW     float64  `json:"all_w"`
	OutInc   float64  `json:"out_inc"`
	Outcomes int      `json:"outcomes"`
	Talks    int      `json:"talks"`
	Live     distJSON `json:"live_ring"`
	Other    distJSON `json:"other_ring"`
	Talk     distJSON `json:"talk"`
	Wrap     distJSON `json:"wrap"`
}

func (d *dist) save() distJSON {
	return distJSON{Weights: append([]float64(nil), d.w...), Total: d.total, Inc: d.inc}
}

func (d *dist) load(name string, j distJSON) error {
	if len(j.Weights) != len(d.w) {
		return fmt.Errorf("%s: %d bins, want %d: %w", name, len(j.Weights), len(d.w), ErrBadEstimates)
	}
	sum := 0.0
	for _, w := range j.Weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("%s: weight %v: %w", name, w, ErrBadEstimates)
		}
		sum += w
	}
	if !(j.Inc > 0) || math.IsInf(j.Inc, 0) || !(sum > 0) || math.IsInf(sum, 0) || !(math.Abs(sum-j.Total) <= 1e-6*sum) {
		return fmt.Errorf("%s: total %v, increment %v: %w", name, j.Total, j.Inc, ErrBadEstimates)
	}
	copy(d.w, j.Weights)
	d.total, d.inc, d.dirty = j.Total, j.Inc, true
	return nil
}

// MarshalJSON saves the estimates so that a campaign restarted later (or
// after the appliance restarts) resumes from what it learned instead of
// starting cold.
func (e *Estimates) MarshalJSON() ([]byte, error) {
	return json.Marshal(estimatesJSON{
		Version: estimatesVersion, LiveW: e.liveW, AllW: e.allW, OutInc: e.outInc,
		Outcomes: e.outcomes, Talks: e.talks,
		Live: e.live.save(), Other: e.other.save(), Talk: e.talk.save(), Wrap: e.wrap.save(),
	})
}

// UnmarshalJSON restores estimates saved by MarshalJSON. It fails with
// ErrBadEstimates, changing nothing, on another version, another bin
// layout or inconsistent numbers.
func (e *Estimates) UnmarshalJSON(b []byte) error {
	var j estimatesJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("estimates: %w: %w", ErrBadEstimates, err)
	}
	if j.Version != estimatesVersion {
		return fmt.Errorf("estimates version %d, want %d: %w", j.Version, estimatesVersion, ErrBadEstimates)
	}
	if !(j.AllW > 0) || !(j.LiveW >= 0) || j.LiveW > j.AllW || !(j.OutInc > 0) || math.IsInf(j.AllW+j.OutInc, 0) ||
		j.Outcomes < 0 || j.Talks < 0 {
		return fmt.Errorf("estimates counts: %w", ErrBadEstimates)
	}
	fresh := NewEstimates(Priors{})
	for _, x := range []struct {
		name string
		d    *dist
		j    distJSON
	}{{"live_ring", fresh.live, j.Live}, {"other_ring", fresh.other, j.Other}, {"talk", fresh.talk, j.Talk}, {"wrap", fresh.wrap, j.Wrap}} {
		if err := x.d.load(x.name, x.j); err != nil {
			return err
		}
	}
	fresh.liveW, fresh.allW, fresh.outInc = j.LiveW, j.AllW, j.OutInc
	fresh.outcomes, fresh.talks = j.Outcomes, j.Talks
	*e = *fresh
	return nil
}
