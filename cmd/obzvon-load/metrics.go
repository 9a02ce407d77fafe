package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// promSamples is one scrape of a Prometheus text exposition: value by
// series ("name{labels}" as written).
type promSamples map[string]float64

// scrapeMetrics fetches and parses u (an http URL on loopback).
func scrapeMetrics(u string) (promSamples, error) { return scrapeMetricsWithin(u, 2*time.Second) }

// scrapeMetricsWithin is scrapeMetrics with a timeout of its own.
func scrapeMetricsWithin(u string, timeout time.Duration) (promSamples, error) {
	// No keep-alive: an idle connection would hold goroutines in the
	// appliance between scrapes (they would count in its goroutines).
	c := http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return parseExposition(resp.Body)
}

// checkMetricsURL accepts only http URLs whose host is a loopback IP.
func checkMetricsURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("%q: want http://IP:PORT/metrics", s)
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || !a.IsLoopback() {
		return fmt.Errorf("%q: host must be a loopback IP", s)
	}
	return nil
}

// parseExposition reads the Prometheus text format (version 0.0.4):
// comment lines start with #, samples are `name{labels} value [ts]`.
func parseExposition(r io.Reader) (promSamples, error) {
	out := promSamples{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		end := strings.IndexByte(line, ' ')
		if i := strings.IndexByte(line, '{'); i >= 0 && (end < 0 || i < end) {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("metrics line %d: unbalanced braces", n)
			}
			end = j + 1
		}
		if end <= 0 || end >= len(line) {
			return nil, fmt.Errorf("metrics line %d: no value", n)
		}
		f := strings.Fields(line[end:])
		if len(f) == 0 {
			return nil, fmt.Errorf("metrics line %d: no value", n)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value %q: %v", n, f[0], err)
		}
		out[line[:end]] = v
	}
	return out, sc.Err()
}

// seriesName is the metric name of a series key.
func seriesName(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		return key[:i]
	}
	return key
}

// metricsReport is what obzvon's own /metrics said about the window.
type metricsReport struct {
	// Counters are the increases of obzvon_*_total series.
	Counters map[string]float64 `json:"counters"`
	// Histograms are quantiles of the window's observations of every
	// histogram whose name mentions delay, in microseconds.
	Histograms map[string]histQuantiles `json:"delay_histograms,omitempty"`
	Error      string                   `json:"error,omitempty"`
}

type histQuantiles struct {
	Count float64 `json:"count"`
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
}

// diffMetrics compares two scrapes.
func diffMetrics(a, b promSamples) metricsReport {
	r := metricsReport{Counters: map[string]float64{}, Histograms: map[string]histQuantiles{}}
	type bucket struct{ le, n float64 }
	buckets := map[string][]bucket{}
	for k, vb := range b {
		name := seriesName(k)
		d := vb - a[k]
		switch {
		case strings.HasPrefix(name, "obzvon_") && strings.HasSuffix(name, "_total"):
			r.Counters[k] = d
		case strings.HasSuffix(name, "_bucket") && strings.Contains(name, "delay"):
			le, ok := labelValue(k, "le")
			if !ok {
				continue
			}
			x, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			base := strings.TrimSuffix(name, "_bucket")
			buckets[base] = append(buckets[base], bucket{x, d})
		}
	}
	for name, bs := range buckets {
		// Several label sets of one histogram add up bucket by bucket.
		sum := map[float64]float64{}
		for _, x := range bs {
			sum[x.le] += x.n
		}
		les := make([]float64, 0, len(sum))
		for le := range sum {
			les = append(les, le)
		}
		sort.Float64s(les)
		cum := make([]float64, len(les))
		for i, le := range les {
			cum[i] = sum[le]
		}
		h := histQuantiles{Count: cum[len(cum)-1]}
		h.P50us = round3(histQuantile(les, cum, 0.50) * 1e6)
		h.P99us = round3(histQuantile(les, cum, 0.99) * 1e6)
		r.Histograms[name] = h
	}
	return r
}

// histQuantile interpolates quantile q in a cumulative histogram with
// upper bounds les (ascending, the last usually +Inf), as Prometheus's
// histogram_quantile does.
func histQuantile(les, cum []float64, q float64) float64 {
	if len(les) == 0 || cum[len(cum)-1] == 0 {
		return 0
	}
	rank := q * cum[len(cum)-1]
	for i := range les {
		if cum[i] >= rank {
			if math.IsInf(les[i], 1) {
				if i == 0 {
					return 0
				}
				return les[i-1]
			}
			lo, below := 0.0, 0.0
			if i > 0 {
				lo, below = les[i-1], cum[i-1]
			}
			if cum[i] == below {
				return les[i]
			}
			return lo + (les[i]-lo)*(rank-below)/(cum[i]-below)
		}
	}
	return les[len(les)-1]
}

// labelValue returns the value of label l in a series key.
func labelValue(key, l string) (string, bool) {
	i := strings.Index(key, l+`="`)
	if i < 0 {
		return "", false
	}
	rest := key[i+len(l)+2:]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}
