package main

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"
)

var testChart = chart{panels: [2]chartPanel{
	{"added latency over direct, c=1 (µs; lower is better)", []bar{
		{"nginx p50", 100, colors[pathNginx]}, {"gateway p50", 250, colors[pathGateway]},
	}},
	{"throughput, c=32 (req/s; higher is better)", []bar{
		{"nginx", 20000, colors[pathNginx]}, {"gateway", 10000, colors[pathGateway]},
	}},
}}

// TestRenderPNG decodes the picture and measures each bar: its length in pixels must be its
// value over the panel's largest, times the longest bar.
func TestRenderPNG(t *testing.T) {
	var buf bytes.Buffer
	if err := renderPNG(&buf, testChart); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, chartW, chartH) {
		t.Fatalf("size %v, want %dx%d", got, chartW, chartH)
	}
	for i, p := range testChart.panels {
		for j, b := range p.bars {
			x0, y := panelLeftPadding+i*panelW+labelW, firstRowY+j*rowH+barH/2
			want := int(barWidth(b.value, p.top()) + 0.5)
			if got := runOf(img, x0, y, b); got != want {
				t.Errorf("panel %d bar %q: %d pixels of its colour, want %d", i, b.label, got, want)
			}
		}
	}
	if textPixels(img, panelLeftPadding, 10, 400, titleY+4) == 0 {
		t.Error("the first panel has no title drawn")
	}
}

// runOf counts the bar's colour from x0 rightwards on row y.
func runOf(img image.Image, x0, y int, b bar) int {
	n := 0
	for x := x0; x < chartW; x++ {
		r, g, bl, _ := img.At(x, y).RGBA()
		if uint8(r>>8) != b.color.R || uint8(g>>8) != b.color.G || uint8(bl>>8) != b.color.B {
			break
		}
		n++
	}
	return n
}

// textPixels counts the dark pixels in a box.
func textPixels(img image.Image, x0, y0, x1, y1 int) int {
	n := 0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
				n++
			}
		}
	}
	return n
}

func TestRenderSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := renderSVG(&buf, testChart); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	for _, want := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg" width="900" height="340"`,
		`<rect x="140" y="44" width="92.0" height="24" fill="#2e7d32"/>`,  // nginx: 100 of 250
		`<rect x="140" y="78" width="230.0" height="24" fill="#e65100"/>`, // gateway: the longest
		`<rect x="590" y="78" width="115.0" height="24" fill="#e65100"/>`, // 10000 of 20000
		`>added latency over direct, c=1 (µs; lower is better)</text>`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %s:\n%s", want, svg)
		}
	}
	if !strings.HasSuffix(svg, "</svg>\n") {
		t.Errorf("SVG not closed:\n%s", svg)
	}
}

func TestWriteChartRefusesOtherNames(t *testing.T) {
	err := writeChart(t.TempDir()+"/chart.jpg", results{latency: &latencyResult{}, throughput: &throughputResult{}})
	if err == nil || !strings.Contains(err.Error(), "must end in .png or .svg") {
		t.Fatalf("err = %v", err)
	}
}

func TestASCIIOnly(t *testing.T) {
	if got := asciiOnly("c=1 (µs) → x"); got != "c=1 (us) ? x" {
		t.Fatalf("got %q", got)
	}
}
