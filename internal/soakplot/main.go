// Command soakplot reads the CSV that scripts/soak.sh samples (time,
// goroutines, fds, heap, RSS, journal size, recordings, calls, appeals),
// draws each series over time into one PNG and fails (exit 1) when a
// resource grows linearly over the steady part of the run.
//
// Usage: go run ./internal/soakplot SAMPLES.csv OUT.png
//
// The check: over the second half of the samples (after warm-up) a least
// squares line is fitted to each resource; a slope that would add more
// than the series' budget per hour is growth, not noise. Goroutines, fds,
// live heap and RSS must stay flat. The journal and the recordings grow
// by design with the records and audio written, so they are judged per
// record: the journal's bytes per written record (calls + appeals) in the
// second half must not exceed three times the first half's.
package main

import (
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// budgets are the growth per hour, over the steady half, that counts as a
// leak, for the columns that must stay flat.
var budgets = map[string]float64{
	"goroutines": 50,
	"fds":        20,
	"heap_mb":    32,
	"rss_mb":     64,
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: soakplot SAMPLES.csv OUT.png")
		os.Exit(2)
	}
	cols, data, err := read(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "soakplot:", err)
		os.Exit(2)
	}
	if err := plot(os.Args[2], cols, data); err != nil {
		fmt.Fprintln(os.Stderr, "soakplot:", err)
		os.Exit(2)
	}
	if !check(cols, data) {
		os.Exit(1)
	}
}

func read(path string) ([]string, map[string][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	if len(rows) < 5 {
		return nil, nil, fmt.Errorf("%s: %d samples, want at least 4", path, len(rows)-1)
	}
	cols := rows[0]
	data := map[string][]float64{}
	for _, r := range rows[1:] {
		for i, c := range cols {
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: column %s: %v", path, c, err)
			}
			data[c] = append(data[c], v)
		}
	}
	return cols, data, nil
}

// slope is the least squares slope of y over x.
func slope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var num, den float64
	for i := range x {
		num += (x[i] - mx) * (y[i] - my)
		den += (x[i] - mx) * (x[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

func check(cols []string, data map[string][]float64) bool {
	t := data["t_s"]
	n := len(t)
	half := n / 2
	ok := true
	hours := (t[n-1] - t[0]) / 3600
	fmt.Printf("soak: %d samples over %.1f min\n", n, (t[n-1]-t[0])/60)
	for _, c := range cols {
		y := data[c]
		b, flat := budgets[c]
		if !flat {
			continue
		}
		perHour := slope(t[half:], y[half:]) * 3600
		verdict := "flat"
		if perHour > b {
			verdict = "GROWS"
			ok = false
		}
		fmt.Printf("  %-11s first %9.1f  last %9.1f  min %9.1f  max %9.1f  steady-half slope %+8.1f/h (budget %g/h): %s\n",
			c, y[0], y[n-1], minOf(y), maxOf(y), perHour, b, verdict)
	}
	if j, okj := data["journal_mb"]; okj {
		recs := make([]float64, n)
		for i := range recs {
			recs[i] = data["calls"][i] + data["appeals"][i]
		}
		first := perRecord(j[0], j[half], recs[0], recs[half])
		second := perRecord(j[half], j[n-1], recs[half], recs[n-1])
		verdict := "proportional"
		if first > 0 && second > 3*first {
			verdict = "GROWS faster than the records"
			ok = false
		}
		fmt.Printf("  %-11s first %9.1f  last %9.1f  MB (%.1f MB/h); %.0f then %.0f bytes per record written: %s\n",
			"journal_mb", j[0], j[n-1], (j[n-1]-j[0])/math.Max(hours, 1e-9), first, second, verdict)
	}
	if r, okr := data["recordings_mb"]; okr {
		fmt.Printf("  %-11s first %9.1f  last %9.1f  MB (audio, grows with the calls by design)\n", "recordings", r[0], r[n-1])
	}
	return ok
}

func perRecord(j0, j1, r0, r1 float64) float64 {
	if r1 <= r0 {
		return 0
	}
	return (j1 - j0) * 1e6 / (r1 - r0)
}

func minOf(y []float64) float64 {
	m := math.Inf(1)
	for _, v := range y {
		m = math.Min(m, v)
	}
	return m
}

func maxOf(y []float64) float64 {
	m := math.Inf(-1)
	for _, v := range y {
		m = math.Max(m, v)
	}
	return m
}

// plot draws one panel per column (except t_s) over time.
func plot(path string, cols []string, data map[string][]float64) error {
	var series []string
	for _, c := range cols {
		if c != "t_s" {
			series = append(series, c)
		}
	}
	const w, ph = 900, 150
	img := image.NewRGBA(image.Rect(0, 0, w, ph*len(series)))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	t := data["t_s"]
	t0, t1 := t[0], t[len(t)-1]
	for i, c := range series {
		y := data[c]
		lo, hi := minOf(y), maxOf(y)
		if hi == lo {
			hi, lo = hi+1, lo-1
		}
		lo = math.Min(lo, 0)
		top := i * ph
		box := image.Rect(70, top+20, w-20, top+ph-25)
		rect(img, box, color.Gray{200})
		label(img, 10, top+14, fmt.Sprintf("%s  (%.1f .. %.1f)", c, minOf(y), maxOf(y)))
		label(img, 5, box.Min.Y+10, fmt.Sprintf("%.0f", hi))
		label(img, 5, box.Max.Y, fmt.Sprintf("%.0f", lo))
		label(img, box.Min.X, box.Max.Y+15, "0 min")
		label(img, box.Max.X-60, box.Max.Y+15, fmt.Sprintf("%.0f min", (t1-t0)/60))
		px := func(k int) (int, int) {
			x := box.Min.X + int(float64(box.Dx())*(t[k]-t0)/math.Max(t1-t0, 1))
			yy := box.Max.Y - int(float64(box.Dy())*(y[k]-lo)/(hi-lo))
			return x, yy
		}
		for k := 1; k < len(y); k++ {
			x0, y0 := px(k - 1)
			x1, y1 := px(k)
			line(img, x0, y0, x1, y1, color.RGBA{20, 90, 200, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func rect(img *image.RGBA, r image.Rectangle, c color.Color) {
	for x := r.Min.X; x <= r.Max.X; x++ {
		img.Set(x, r.Min.Y, c)
		img.Set(x, r.Max.Y, c)
	}
	for y := r.Min.Y; y <= r.Max.Y; y++ {
		img.Set(r.Min.X, y, c)
		img.Set(r.Max.X, y, c)
	}
}

func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func label(img *image.RGBA, x, y int, s string) {
	d := &font.Drawer{Dst: img, Src: image.Black, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
