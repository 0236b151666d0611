package profileimage

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"sync"
)

// Defaults are the images shown for an account without one, by size: a grey silhouette
// on a light ground, drawn here rather than shipped, the same bytes on every replica.
var Defaults = sync.OnceValue(func() map[int][]byte {
	out := map[int][]byte{}
	for _, size := range []int{500, 120, 50, 30} {
		out[size] = drawDefault(size)
	}
	return out
})

var (
	ground     = color.NRGBA{0xe3, 0xe7, 0xeb, 0xff}
	silhouette = color.NRGBA{0x9a, 0xa5, 0xb1, 0xff}
)

// drawDefault draws the silhouette at size×size: a head and shoulders, each edge pixel
// shaded by how much of it the shapes cover (4×4 samples), so that small sizes stay
// smooth.
func drawDefault(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const samples = 4
	inside := func(x, y float64) bool {
		// The head: a circle; the shoulders: the top of an ellipse cut by the bottom
		// edge. Coordinates are fractions of the side.
		hx, hy := x-0.5, y-0.39
		if hx*hx+hy*hy <= 0.18*0.18 {
			return true
		}
		bx, by := (x-0.5)/0.34, (y-1.02)/0.40
		return bx*bx+by*by <= 1
	}
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			n := 0
			for sy := 0; sy < samples; sy++ {
				for sx := 0; sx < samples; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/samples) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/samples) / float64(size)
					if inside(x, y) {
						n++
					}
				}
			}
			f := float64(n) / (samples * samples)
			mix := func(a, b uint8) uint8 { return uint8(float64(a)*(1-f) + float64(b)*f + 0.5) }
			img.SetNRGBA(px, py, color.NRGBA{mix(ground.R, silhouette.R), mix(ground.G, silhouette.G), mix(ground.B, silhouette.B), 0xff})
		}
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		panic(err) // an in-memory image of a valid size always encodes
	}
	return b.Bytes()
}
