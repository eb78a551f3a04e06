package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strings"
)

// writeChart draws the c=1 added latency (p50 and p99) and the c=32 throughput side by side as
// an SVG: text and bars with no font or image library, and GitHub shows it in the README.
func writeChart(path string, res results) error {
	if res.latency == nil || res.throughput == nil {
		return fmt.Errorf("chart: the latency or throughput phase failed")
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	defer f.Close()
	var lat, rps []bar
	for _, p := range []pathID{pathNginx, pathProxy, pathGateway} {
		if res.latency.p50[p] == 0 {
			continue
		}
		lat = append(lat,
			bar{pathNames[p] + " p50", micros(res.latency.p50[p] - res.latency.p50[pathDirect]), colors[p]},
			bar{pathNames[p] + " p99", micros(res.latency.p99[p] - res.latency.p99[pathDirect]), colors[p]})
	}
	for p := range numPaths {
		if res.throughput.rps[p] != 0 {
			rps = append(rps, bar{pathNames[p], res.throughput.rps[p], colors[p]})
		}
	}
	fmt.Fprintf(f, `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="340" font-family="sans-serif" font-size="12">`+"\n")
	fmt.Fprintf(f, `<rect width="900" height="340" fill="white"/>`+"\n")
	panel(f, 10, "added latency over direct, c=1 (µs; lower is better)", lat)
	panel(f, 460, "throughput, c=32 (req/s; higher is better)", rps)
	_, err = fmt.Fprintln(f, "</svg>")
	return err
}

type bar struct {
	label string
	value float64
	color string
}

var colors = [numPaths]string{"#9e9e9e", "#2e7d32", "#1565c0", "#e65100"}

// panel draws horizontal bars, each labelled with its value, in a 430×320 box at x.
func panel(w io.Writer, x int, title string, bars []bar) {
	fmt.Fprintf(w, `<text x="%d" y="24" font-weight="bold">%s</text>`+"\n", x, html.EscapeString(title))
	top := 0.0
	for _, b := range bars {
		top = math.Max(top, b.value)
	}
	const labelW, barMax, rowH = 130, 230, 34
	for i, b := range bars {
		y := 44 + i*rowH
		width := 0.0
		if top > 0 && b.value > 0 {
			width = b.value / top * barMax
		}
		fmt.Fprintf(w, `<text x="%d" y="%d">%s</text>`+"\n", x, y+17, html.EscapeString(b.label))
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.1f" height="24" fill="%s"/>`+"\n", x+labelW, y, width, b.color)
		fmt.Fprintf(w, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(x+labelW)+width+6, y+17, strings.TrimSpace(fmt.Sprintf("%.0f", b.value)))
	}
}
