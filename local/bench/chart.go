package main

import (
	"fmt"
	"html"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// A chart is two panels of horizontal bars side by side: the c=1 added latency (p50 and p99)
// and the c=32 throughput. It is drawn as a PNG (what the README shows) or an SVG, both from
// the same numbers and the same layout.
type chart struct {
	panels [2]chartPanel
}

type chartPanel struct {
	title string
	bars  []bar
}

type bar struct {
	label string
	value float64
	color color.RGBA
}

// The layout, in pixels, shared by both renderers.
const (
	chartW, chartH   = 900, 340
	panelW           = 450
	titleY           = 24
	firstRowY, rowH  = 44, 34
	barH             = 24
	labelW, barMaxW  = 130, 230
	valueGap         = 6
	panelLeftPadding = 10
)

var colors = [numPaths]color.RGBA{
	{0x9e, 0x9e, 0x9e, 0xff}, {0x2e, 0x7d, 0x32, 0xff}, {0x15, 0x65, 0xc0, 0xff}, {0xe6, 0x51, 0x00, 0xff},
}

// newChart takes the bars from the run's results: every proxy path that was measured.
func newChart(res results) (chart, error) {
	if res.latency == nil || res.throughput == nil {
		return chart{}, fmt.Errorf("chart: the latency or throughput phase failed")
	}
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
	return chart{panels: [2]chartPanel{
		{"added latency over direct, c=1 (µs; lower is better)", lat},
		{"throughput, c=32 (req/s; higher is better)", rps},
	}}, nil
}

// writeChart writes the chart to path, as a PNG or an SVG by the name's extension.
func writeChart(path string, res results) error {
	c, err := newChart(res)
	if err != nil {
		return err
	}
	var render func(io.Writer, chart) error
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		render = renderPNG
	case ".svg":
		render = renderSVG
	default:
		return fmt.Errorf("chart: %s: the name must end in .png or .svg", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := render(f, c); err != nil {
		f.Close()
		return fmt.Errorf("chart: %s: %w", path, err)
	}
	return f.Close()
}

// barWidth scales a value to the longest bar of its panel.
func barWidth(value, top float64) float64 {
	if top <= 0 || value <= 0 {
		return 0
	}
	return value / top * barMaxW
}

func (p chartPanel) top() float64 {
	top := 0.0
	for _, b := range p.bars {
		top = math.Max(top, b.value)
	}
	return top
}

func valueText(v float64) string { return fmt.Sprintf("%.0f", v) }

// renderSVG draws text and bars with no font or image library.
func renderSVG(w io.Writer, c chart) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH)
	fmt.Fprintf(&sb, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	for i, p := range c.panels {
		x := panelLeftPadding + i*panelW
		fmt.Fprintf(&sb, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x, titleY, html.EscapeString(p.title))
		top := p.top()
		for j, b := range p.bars {
			y := firstRowY + j*rowH
			width := barWidth(b.value, top)
			fmt.Fprintf(&sb, `<text x="%d" y="%d">%s</text>`+"\n", x, y+17, html.EscapeString(b.label))
			fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#%02x%02x%02x"/>`+"\n",
				x+labelW, y, width, barH, b.color.R, b.color.G, b.color.B)
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(x+labelW)+width+valueGap, y+17, valueText(b.value))
		}
	}
	sb.WriteString("</svg>\n")
	_, err := io.WriteString(w, sb.String())
	return err
}
