package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// renderPNG draws the chart with Go's image packages and x/image's built-in bitmap font
// (7×13 pixels, ASCII), so the README's picture needs no font file or system library.
func renderPNG(w io.Writer, c chart) error {
	img := image.NewRGBA(image.Rect(0, 0, chartW, chartH))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for i, p := range c.panels {
		x := panelLeftPadding + i*panelW
		drawText(img, x, titleY, asciiOnly(p.title))
		top := p.top()
		for j, b := range p.bars {
			y := firstRowY + j*rowH
			width := int(math.Round(barWidth(b.value, top)))
			drawText(img, x, y+17, b.label)
			draw.Draw(img, image.Rect(x+labelW, y, x+labelW+width, y+barH), image.NewUniform(b.color), image.Point{}, draw.Src)
			drawText(img, x+labelW+width+valueGap, y+17, valueText(b.value))
		}
	}
	return png.Encode(w, img)
}

// drawText writes s with its baseline at y.
func drawText(img draw.Image, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// asciiOnly spells µ as u and anything else outside ASCII as ?: the bitmap font has ASCII only.
func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == 'µ':
			return 'u'
		case r >= utf8.RuneSelf:
			return '?'
		}
		return r
	}, s)
}
