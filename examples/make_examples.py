"""Make the example images: original procedural "paintings" and photos from scikit-image.

    python examples/make_examples.py      # rewrites examples/styles/*.jpg and examples/photos/*.jpg

Each painting is built from brush strokes, tiles or shards laid down by numpy + PIL (no
downloads, no models). They are original works of this project, released under the MIT licence
(see examples/PROVENANCE.md).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).parent / "styles"
PHOTOS = Path(__file__).parent / "photos"
# scikit-image's bundled photos that are public domain or CC0 (see examples/PROVENANCE.md)
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
W, H = 512, 512
SS = 2  # supersampling: paint at 2x and downsample, so strokes have soft, anti-aliased edges


def _rgb(c, rng, jitter=18):
    """A palette colour with a little hand-mixed variation."""
    c = np.asarray(c, float) + rng.normal(0, jitter, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


def _stroke(draw, x, y, angle_at, length, width, colour, rng, curl=1.0):
    """One brush stroke: a polyline that follows the direction field from (x, y)."""
    pts = [(x, y)]
    n = max(2, int(length / 4))
    for _ in range(n):
        a = angle_at(x, y) * curl
        x, y = x + 4 * math.cos(a), y + 4 * math.sin(a)
        pts.append((x, y))
    draw.line(pts, fill=colour, width=int(width), joint="curve")
    # bristle marks: a thinner, lighter and a darker line inside the stroke
    for shade, off in ((28, -0.25), (-28, 0.25)):
        c = tuple(int(np.clip(v + shade, 0, 255)) for v in colour)
        d = off * width
        draw.line([(px + d, py + d) for px, py in pts], fill=c, width=max(1, int(width / 5)))


def _canvas_texture(img: Image.Image, rng, strength=10) -> Image.Image:
    """Canvas weave and a slight softening, so flat digital colour reads as paint."""
    a = np.asarray(img, float)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    weave = np.sin(xx * 1.9) * np.sin(yy * 1.9) * strength * 0.4
    grain = rng.normal(0, strength * 0.5, (h, w))
    a = a + (weave + grain)[..., None]
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.SMOOTH)


def _finish(big: Image.Image, rng) -> Image.Image:
    return _canvas_texture(big.resize((W, H), Image.LANCZOS), rng)


def swirling_night(rng) -> Image.Image:
    """Night sky of swirling strokes around glowing stars, a flame-like tree, a sleeping village."""
    w, h = W * SS, H * SS
    img = Image.new("RGB", (w, h), (20, 40, 90))
    draw = ImageDraw.Draw(img)
    vortices = [(0.55 * w, 0.3 * h, 1.0), (0.3 * w, 0.18 * h, -0.8), (0.85 * w, 0.15 * h, 0.7)]
    stars = [(0.2 * w, 0.35 * h), (0.45 * w, 0.1 * h), (0.7 * w, 0.45 * h), (0.9 * w, 0.35 * h),
             (0.08 * w, 0.1 * h)]
    moon = (0.86 * w, 0.14 * h)

    def sky_angle(x, y):
        a = 0.15 * math.sin(y / 90.0)  # a gentle horizontal drift
        vx, vy = math.cos(a), math.sin(a)
        for cx, cy, s in vortices:
            dx, dy = x - cx, y - cy
            r2 = dx * dx + dy * dy + 1
            k = s * 9000.0 / r2 ** 0.85
            vx, vy = vx - k * dy / r2 ** 0.5, vy + k * dx / r2 ** 0.5
        return math.atan2(vy, vx)

    def sky_colour(x, y):
        near = min(math.hypot(x - cx, y - cy) for cx, cy in stars + [moon])
        glow = math.exp(-near / 70.0)
        swirl = min(math.hypot(x - cx, y - cy) for cx, cy, _ in vortices)
        light = math.exp(-swirl / 160.0)
        base = np.array([28, 60, 140]) * (1 - light) + np.array([90, 140, 200]) * light
        return base * (1 - glow) + np.array([250, 225, 110]) * glow

    for _ in range(5200):
        x, y = rng.uniform(0, w), rng.uniform(0, 0.78 * h)
        _stroke(draw, x, y, sky_angle, rng.uniform(30, 70), rng.uniform(7, 13),
                _rgb(sky_colour(x, y), rng, 14), rng)
    for cx, cy in stars + [moon]:  # halos painted as concentric rings of dabs
        big = 1.6 if (cx, cy) == moon else 1.0
        for r in np.linspace(45 * big, 6, 9):
            for t in np.linspace(0, 2 * math.pi, int(6 + r / 2), endpoint=False):
                x, y = cx + r * math.cos(t), cy + r * math.sin(t)
                col = (255, 240, 150) if r < 25 * big else (235, 200, 80)
                _stroke(draw, x, y, lambda px, py, c=(cx, cy): math.atan2(py - c[1], px - c[0]) + math.pi / 2,
                        14, rng.uniform(6, 10), _rgb(col, rng, 12), rng)
    # hills and village: horizontal strokes, dark blues and greens, yellow windows
    for _ in range(1800):
        x, y = rng.uniform(0, w), rng.uniform(0.72 * h, h)
        hill = 0.75 * h + 30 * math.sin(x / 120.0)
        if y < hill:
            continue
        col = (25, 50, 70) if rng.random() < 0.6 else (50, 80, 60)
        _stroke(draw, x, y, lambda px, py: 0.1 * math.sin(px / 60.0), rng.uniform(20, 45),
                rng.uniform(8, 12), _rgb(col, rng, 12), rng)
    for _ in range(28):
        x, y = rng.uniform(0.35 * w, 0.95 * w), rng.uniform(0.82 * h, 0.95 * h)
        draw.rectangle([x, y, x + 10, y + 8], fill=_rgb((240, 200, 70), rng, 10))
    # the flame-shaped tree on the left: near-vertical, wavy, very dark strokes
    for _ in range(900):
        y = rng.uniform(0.15 * h, h)
        half = 70 * (y - 0.15 * h) / (0.85 * h) + 10
        x = 0.16 * w + rng.uniform(-half, half)
        _stroke(draw, x, y, lambda px, py: -math.pi / 2 + 0.35 * math.sin(py / 25.0), rng.uniform(25, 55),
                rng.uniform(7, 11), _rgb((25, 45, 25) if rng.random() < 0.7 else (70, 60, 30), rng, 10), rng)
    return _finish(img, rng)


def mosaic(rng) -> Image.Image:
    """A Byzantine-style tile mosaic: a sunburst in gold, terracotta and teal with dark grout."""
    cell = 14
    gh, gw = H // cell + 2, W // cell + 2
    seeds = (np.stack(np.mgrid[0:gh, 0:gw], -1) + rng.uniform(0.15, 0.85, (gh, gw, 2))) * cell
    yy, xx = np.mgrid[0:H, 0:W].astype(float)
    gy, gx = (yy // cell).astype(int), (xx // cell).astype(int)
    best = np.full((H, W), np.inf)
    second = np.full((H, W), np.inf)
    owner = np.zeros((H, W, 2), int)
    for dy in (-1, 0, 1, 2):  # nearest and second-nearest seed among neighbouring grid cells
        for dx in (-1, 0, 1, 2):
            sy, sx = np.clip(gy + dy, 0, gh - 1), np.clip(gx + dx, 0, gw - 1)
            p = seeds[sy, sx]
            d = np.hypot(p[..., 0] - yy, p[..., 1] - xx)
            closer = d < best
            second = np.where(closer, best, np.minimum(second, d))
            best = np.where(closer, d, best)
            owner[closer] = np.stack([sy, sx], -1)[closer]
    centre = seeds[owner[..., 0], owner[..., 1]]
    cy, cx = centre[..., 0] - H * 0.45, centre[..., 1] - W * 0.5
    r, t = np.hypot(cx, cy), np.arctan2(cy, cx)
    palette = np.array([[212, 165, 50], [180, 80, 45], [35, 110, 115], [240, 225, 190],
                        [120, 40, 35], [25, 60, 90]], float)
    band = ((r / 38.0).astype(int) + ((np.sin(t * 12) > 0) & (r > 80)).astype(int) * 2) % len(palette)
    colour = palette[band]
    colour[r < 60] = palette[0] * 1.1  # a golden sun at the centre
    tile_id = owner[..., 0] * 1000 + owner[..., 1]
    tint = np.random.default_rng(7).normal(0, 16, (tile_id.max() + 1, 3))[tile_id]
    shade = 1.0 - 0.25 * (best / cell)  # tiles catch light at their centres
    img = (colour + tint) * shade[..., None]
    grout = (second - best) < 1.6
    img[grout] = [45, 38, 32]
    return _canvas_texture(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)), rng, 6)


def water_garden(rng) -> Image.Image:
    """An impressionist pond: horizontal reflections, lily pads of green dabs, pink blossoms."""
    w, h = W * SS, H * SS
    img = Image.new("RGB", (w, h), (70, 100, 130))
    draw = ImageDraw.Draw(img)

    def water(x, y):
        t = y / h
        sky = np.array([150, 170, 200]) * (1 - t) + np.array([60, 90, 120]) * t
        willow = math.exp(-((x / w - 0.2) ** 2) / 0.02) + math.exp(-((x / w - 0.85) ** 2) / 0.015)
        return sky * (1 - 0.6 * willow) + np.array([60, 110, 70]) * 0.6 * willow + rng.normal(0, 8, 3)

    for _ in range(6500):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        vertical = rng.random() < 0.1  # willow reflections hang down
        tilt = rng.normal(0, 0.12)
        _stroke(draw, x, y, lambda px, py, v=vertical, t=tilt: (math.pi / 2 if v else t) + 0.25 * math.sin(px / 30),
                rng.uniform(18, 45), rng.uniform(6, 14), _rgb(water(x, y), rng, 10), rng)
    pads = [(rng.uniform(0, w), rng.uniform(0.3 * h, h), rng.uniform(35, 90)) for _ in range(34)]
    for px, py, r in pads:
        for _ in range(int(r * 1.5)):
            a, d = rng.uniform(0, 2 * math.pi), r * math.sqrt(rng.uniform())
            x, y = px + d * math.cos(a), py + 0.45 * d * math.sin(a)  # pads foreshortened
            col = (70, 130, 60) if rng.random() < 0.6 else (140, 170, 80)
            _stroke(draw, x, y, lambda qx, qy: rng.uniform(-0.4, 0.4), rng.uniform(8, 16),
                    rng.uniform(6, 10), _rgb(col, rng, 14), rng)
        if rng.random() < 0.6:  # a blossom
            fx, fy = px + rng.uniform(-r / 3, r / 3), py + rng.uniform(-r / 6, r / 6)
            for _ in range(22):
                a = rng.uniform(0, 2 * math.pi)
                _stroke(draw, fx + 8 * math.cos(a), fy + 5 * math.sin(a), lambda qx, qy, a=a: a - math.pi / 2,
                        10, rng.uniform(5, 9), _rgb((235, 150, 170) if rng.random() < 0.7 else (250, 235, 230), rng, 10), rng)
    return _finish(img, rng)


def pointillist_sunset(rng) -> Image.Image:
    """Divisionist dots: a sunset over sea and dunes, mixed in the eye from pure complementary dots."""
    img = Image.new("RGB", (W * SS, H * SS), (240, 230, 210))
    draw = ImageDraw.Draw(img)
    w, h = img.size
    sun = (0.62 * w, 0.42 * h)

    def scene(x, y):
        t = y / h
        d = math.hypot(x - sun[0], y - sun[1]) / w
        if t < 0.5:  # sky: violet at the top, orange near the horizon, yellow round the sun
            c = np.array([110, 90, 170]) * (1 - 2 * t) + np.array([250, 140, 70]) * 2 * t
            c = c * (1 - math.exp(-d * 6)) + np.array([255, 230, 120]) * math.exp(-d * 6)
        elif t < 0.72:  # sea, with the sun's path glittering on it
            path = math.exp(-abs(x - sun[0]) / (0.06 * w))
            c = np.array([40, 80, 140]) * (1 - path) + np.array([250, 190, 90]) * path
        else:  # dunes
            c = np.array([200, 140, 80]) if math.sin(x / 90 + y / 50) > -0.3 else np.array([120, 90, 110])
        return c

    for _ in range(70000):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        c = scene(x, y)
        if rng.random() < 0.18:  # a complementary dot next to its colour, as Seurat did
            c = 255 - c * 0.8
        r = rng.uniform(3.5, 6.5)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=_rgb(c, rng, 25))
    return _finish(img, rng)


# name -> (painter, seed); the seeds are those the committed images were made with
PAINTINGS = {"swirling_night": (swirling_night, 2015), "mosaic": (mosaic, 2016),
             "water_garden": (water_garden, 2018), "pointillist_sunset": (pointillist_sunset, 2019)}


def copy_photos():
    """Content examples: scikit-image's sample photos, shrunk to <= 512 px (pip installs them)."""
    import skimage.data

    PHOTOS.mkdir(exist_ok=True)
    for name in SKIMAGE_PHOTOS:
        im = Image.fromarray(getattr(skimage.data, name)())
        im.thumbnail((512, 512), Image.LANCZOS)
        im.save(PHOTOS / f"{name}.jpg", quality=88, optimize=True)
        print(PHOTOS / f"{name}.jpg")


def pan_clip(n: int = 12, fps: int = 6):
    """A clip example: the camera pans right across chelsea.jpg (2 s); made here, so it is CC0 too."""
    import sys
    from fractions import Fraction

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from nst.clipio import write_clip

    photo = Image.open(PHOTOS / "chelsea.jpg").convert("RGB")
    w, h = photo.size
    frames = [photo.crop((8 * k, 20, 8 * k + 300, 220)).resize((288, 192), Image.LANCZOS) for k in range(n)]
    out = Path(__file__).resolve().parent / "clips" / "chelsea_pan.mp4"
    out.parent.mkdir(exist_ok=True)
    write_clip(frames, out, Fraction(fps))
    print(out)


def main():
    copy_photos()
    OUT.mkdir(exist_ok=True)
    for name, (paint, seed) in PAINTINGS.items():
        paint(np.random.default_rng(seed)).save(OUT / f"{name}.jpg", quality=88, optimize=True)
        print(OUT / f"{name}.jpg")
    pan_clip()


if __name__ == "__main__":
    main()
