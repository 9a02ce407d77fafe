package campaigns

import (
	"runtime"
	"sync"
)

// SimSummary aggregates one grid cell over several seeds (one simulated
// day each).
type SimSummary struct {
	Config SimConfig
	Seeds  int
	// Means over the seeds, except WorstDayAbandon (the highest day) and
	// Abandon (pooled: all abandoned over all live answers).
	Occupancy, OutboundOccupancy, Abandon, WorstDayAbandon float64
	ContactsPerAgentHour, IdlePerConnect, InboundSL        float64
	MinInboundSL                                           float64
	Days                                                   []SimResult
}

// SimulateSeeds runs cfg with seeds 1..seeds on up to workers goroutines
// (0: GOMAXPROCS) and summarises the days.
func SimulateSeeds(cfg SimConfig, seeds, workers int) (SimSummary, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	days := make([]SimResult, seeds)
	errs := make([]error, seeds)
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := 0; i < seeds; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c := cfg
			c.Seed = cfg.Seed + uint64(i)
			days[i], errs[i] = Simulate(c)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return SimSummary{}, err
		}
	}
	sum := SimSummary{Config: cfg, Seeds: seeds, Days: days, MinInboundSL: 1}
	var live, ab int
	n := float64(seeds)
	for _, d := range days {
		sum.Occupancy += d.Occupancy / n
		sum.OutboundOccupancy += d.OutboundOccupancy / n
		sum.ContactsPerAgentHour += d.ContactsPerAgentHour / n
		sum.IdlePerConnect += d.IdlePerConnect / n
		sum.InboundSL += d.InboundSL / n
		sum.MinInboundSL = min(sum.MinInboundSL, d.InboundSL)
		sum.WorstDayAbandon = max(sum.WorstDayAbandon, d.Abandon)
		live += d.Live
		ab += d.Abandoned
	}
	if live > 0 {
		sum.Abandon = float64(ab) / float64(live)
	}
	return sum, nil
}
