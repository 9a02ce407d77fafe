package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// dist is a distribution of durations given on the command line:
//
//	5s               always 5 s
//	exp:12s          exponential with mean 12 s
//	uniform:3s-15s   uniform between 3 and 15 s
//
// The zero dist is "not set".
type dist struct {
	kind  string // "", fixed, exp, uniform
	a, b  time.Duration
	text  string
	scale float64 // durations are divided by this (0 or 1: none)
	mu    *sync.Mutex
	rng   *rand.Rand
}

// parseDist parses s (see dist); an empty s gives the zero dist.
func parseDist(s string) (dist, error) {
	d := dist{text: s}
	if s == "" {
		return d, nil
	}
	kind, arg, ok := strings.Cut(s, ":")
	if !ok {
		kind, arg = "fixed", s
	}
	bad := func() (dist, error) {
		return dist{}, fmt.Errorf("%q: want a duration (5s), exp:MEAN (exp:12s) or uniform:MIN-MAX (uniform:3s-15s)", s)
	}
	switch kind {
	case "fixed", "exp":
		v, err := time.ParseDuration(arg)
		if err != nil || v < 0 || (kind == "exp" && v == 0) {
			return bad()
		}
		d.kind, d.a = kind, v
	case "uniform":
		lo, hi, ok := strings.Cut(arg, "-")
		if !ok {
			return bad()
		}
		a, err1 := time.ParseDuration(lo)
		b, err2 := time.ParseDuration(hi)
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return bad()
		}
		d.kind, d.a, d.b = kind, a, b
	default:
		return bad()
	}
	return d, nil
}

// set reports whether the dist was given.
func (d dist) set() bool { return d.kind != "" }

// withRand gives the dist its own random source (seeded) and a divisor for
// every drawn duration.
func (d dist) withRand(seed uint64, scale float64) dist {
	d.mu = &sync.Mutex{}
	d.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	d.scale = scale
	return d
}

// draw returns one duration.
func (d dist) draw() time.Duration {
	var v time.Duration
	var u float64
	if d.mu != nil {
		d.mu.Lock()
		switch d.kind {
		case "exp":
			u = d.rng.ExpFloat64()
		case "uniform":
			u = d.rng.Float64()
		}
		d.mu.Unlock()
	} else {
		switch d.kind {
		case "exp":
			u = rand.ExpFloat64()
		case "uniform":
			u = rand.Float64()
		}
	}
	switch d.kind {
	case "fixed":
		v = d.a
	case "exp":
		v = time.Duration(u * float64(d.a))
	case "uniform":
		v = d.a + time.Duration(u*float64(d.b-d.a))
	}
	if d.scale > 0 && d.scale != 1 {
		v = time.Duration(float64(v) / d.scale)
	}
	return v
}

// upper is a bound that draws rarely exceed (for deadlines): the maximum
// of fixed and uniform, 5 means of exp (exceeded with probability e^-5).
func (d dist) upper() time.Duration {
	var v time.Duration
	switch d.kind {
	case "fixed":
		v = d.a
	case "exp":
		v = 5 * d.a
	case "uniform":
		v = d.b
	}
	if d.scale > 0 && d.scale != 1 {
		v = time.Duration(float64(v) / d.scale)
	}
	return v
}

func (d dist) String() string { return d.text }
