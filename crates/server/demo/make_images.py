#!/usr/bin/env python3
"""Generates the demo images in media/ (standard library only).

Run from anywhere:  python3 crates/server/demo/make_images.py
The output is deterministic, so regenerating gives the same bytes.
"""

import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MEDIA = os.path.join(HERE, "media")

# Palette (warm / green).
CREAM = (250, 243, 226)
SAND = (238, 214, 170)
GOLD = (246, 190, 64)
SUN = (255, 222, 120)
ORANGE = (238, 137, 62)
TERRACOTTA = (196, 98, 64)
PEACH = (250, 206, 168)
LEAF = (120, 178, 86)
GREEN = (68, 140, 76)
DARK_GREEN = (30, 84, 62)
FOREST = (22, 62, 48)
PANEL = (38, 58, 96)
PANEL_LINE = (86, 112, 156)
WINDOW = (250, 236, 200)


# --------------------------------------------------------------------------
# PNG writing

def write_png(path, width, height, rows):
    """rows: list of `height` bytearrays of width*3 RGB bytes; filter 0 rows."""
    raw = bytearray()
    for row in rows:
        raw.append(0)
        raw.extend(row)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
    return len(png)


# --------------------------------------------------------------------------
# Tiny raster helpers: an image is a list of rows of [r, g, b] float lists.

def lerp(a, b, t):
    return a + (b - a) * t


def mix(c1, c2, t):
    t = max(0.0, min(1.0, t))
    return (lerp(c1[0], c2[0], t), lerp(c1[1], c2[1], t), lerp(c1[2], c2[2], t))


def smooth(t):
    t = max(0.0, min(1.0, t))
    return t * t * (3 - 2 * t)


class Canvas:
    def __init__(self, w, h, fill=(0, 0, 0)):
        self.w, self.h = w, h
        self.px = [[list(fill) for _ in range(w)] for _ in range(h)]

    def shade(self, fn):
        """fn(x, y) -> (colour, alpha) or None, applied everywhere."""
        for y in range(self.h):
            row = self.px[y]
            for x in range(self.w):
                r = fn(x + 0.5, y + 0.5)
                if r is None:
                    continue
                col, a = r
                if a <= 0:
                    continue
                p = row[x]
                if a >= 1:
                    p[0], p[1], p[2] = col
                else:
                    p[0] = lerp(p[0], col[0], a)
                    p[1] = lerp(p[1], col[1], a)
                    p[2] = lerp(p[2], col[2], a)

    def shade_box(self, x0, y0, x1, y1, fn):
        """Like shade() but only inside a bounding box (faster)."""
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(self.w, int(math.ceil(x1))), min(self.h, int(math.ceil(y1)))
        for y in range(y0, y1):
            row = self.px[y]
            for x in range(x0, x1):
                r = fn(x + 0.5, y + 0.5)
                if r is None:
                    continue
                col, a = r
                if a <= 0:
                    continue
                p = row[x]
                if a >= 1:
                    p[0], p[1], p[2] = col
                else:
                    p[0] = lerp(p[0], col[0], a)
                    p[1] = lerp(p[1], col[1], a)
                    p[2] = lerp(p[2], col[2], a)

    def disc(self, cx, cy, r, col, alpha=1.0):
        def f(x, y):
            d = math.hypot(x - cx, y - cy)
            return col, alpha * max(0.0, min(1.0, r - d + 0.5))
        self.shade_box(cx - r - 1, cy - r - 1, cx + r + 2, cy + r + 2, f)

    def ring(self, cx, cy, r, width, col, alpha=1.0):
        def f(x, y):
            d = abs(math.hypot(x - cx, y - cy) - r)
            return col, alpha * max(0.0, min(1.0, width / 2 - d + 0.5))
        R = r + width
        self.shade_box(cx - R - 1, cy - R - 1, cx + R + 2, cy + R + 2, f)

    def rect(self, x0, y0, x1, y1, col, alpha=1.0):
        def f(x, y):
            cov = (max(0.0, min(1.0, x - x0 + 0.5, x1 - x + 0.5))
                   * max(0.0, min(1.0, y - y0 + 0.5, y1 - y + 0.5)))
            return col, alpha * cov
        self.shade_box(x0 - 1, y0 - 1, x1 + 2, y1 + 2, f)

    def rows(self):
        out = []
        for row in self.px:
            b = bytearray(self.w * 3)
            i = 0
            for p in row:
                b[i] = int(max(0, min(255, round(p[0]))))
                b[i + 1] = int(max(0, min(255, round(p[1]))))
                b[i + 2] = int(max(0, min(255, round(p[2]))))
                i += 3
            out.append(b)
        return out


def vertical_gradient(c, stops):
    """stops: list of (t, colour) with t in 0..1 from top to bottom."""
    for y in range(c.h):
        t = (y + 0.5) / c.h
        for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
            if t0 <= t <= t1:
                col = mix(c0, c1, smooth((t - t0) / (t1 - t0)))
                break
        else:
            col = stops[-1][1]
        for p in c.px[y]:
            p[0], p[1], p[2] = col


def hill(c, base, amp, freq, phase, col, top_col=None):
    """Fills everything below a smooth wavy line; optional lighter crest band."""
    def edge(x):
        return base + amp * math.sin(x * freq + phase) + amp * 0.4 * math.sin(x * freq * 2.3 + phase * 1.7)

    def f(x, y):
        e = edge(x)
        a = max(0.0, min(1.0, y - e + 0.5))
        if a <= 0:
            return None
        colour = col
        if top_col is not None:
            colour = mix(top_col, col, (y - e) / 60.0)
        return colour, a
    ymin = base - amp * 1.5 - 2
    c.shade_box(0, ymin, c.w, c.h, f)
    return edge


# --------------------------------------------------------------------------
# The images

def logo():
    c = Canvas(256, 256, CREAM)
    cx, cy = 128, 128
    c.disc(cx, cy, 118, DARK_GREEN)
    # Sun rays (short rounded bars around the sun), then the sun itself.
    sx, sy, sr = 128, 150, 44
    for k in range(9):
        ang = math.pi + k * math.pi / 8  # upper half only
        for step in range(0, 18):
            rr = sr + 12 + step
            px = sx + rr * math.cos(ang)
            py = sy + rr * math.sin(ang)
            c.disc(px, py, 4.2, GOLD)
    c.disc(sx, sy, sr, SUN)
    c.disc(sx, sy, sr - 10, GOLD, 0.35)
    # Hill: a big light-green circle from below, clipped to the badge.
    hx, hy, hr = 128, 330, 172

    def hill_fn(x, y):
        d_badge = math.hypot(x - cx, y - cy)
        inside = max(0.0, min(1.0, 117 - d_badge + 0.5))
        d = math.hypot(x - hx, y - hy)
        a = max(0.0, min(1.0, hr - d + 0.5)) * inside
        return mix(LEAF, GREEN, (y - 158) / 80.0), a
    c.shade(hill_fn)
    c.ring(cx, cy, 118, 5, GOLD)
    return c


def interview_cover():
    w, h = 1200, 630
    c = Canvas(w, h)
    vertical_gradient(c, [(0.0, (232, 118, 58)), (0.35, (246, 172, 92)), (0.62, (252, 226, 170)), (1.0, CREAM)])
    # Sun with a soft glow.
    sx, sy, sr = 780, 300, 92

    def glow(x, y):
        d = math.hypot(x - sx, y - sy)
        if d > sr + 160:
            return None
        return SUN, 0.55 * (1 - smooth((d - sr) / 160.0))
    c.shade_box(sx - sr - 160, sy - sr - 160, sx + sr + 161, sy + sr + 161, glow)
    c.disc(sx, sy, sr, (255, 234, 160))
    # Three layers of hills, far to near.
    hill(c, 360, 22, 0.006, 0.8, (150, 184, 112))
    hill(c, 420, 26, 0.0045, 2.4, LEAF, (150, 196, 104))
    edge = hill(c, 500, 20, 0.0035, 4.0, DARK_GREEN, GREEN)
    # A row of solar panels standing on the nearest hill.
    for i in range(6):
        x0 = 110 + i * 92
        top = edge(x0 + 38) - 58
        c.rect(x0 + 34, top + 40, x0 + 42, top + 70, (60, 60, 60))  # post
        c.rect(x0, top, x0 + 76, top + 44, PANEL)
        for k in range(1, 4):
            c.rect(x0 + k * 19 - 1, top + 2, x0 + k * 19 + 1, top + 42, PANEL_LINE)
        c.rect(x0 + 2, top + 21, x0 + 74, top + 23, PANEL_LINE)
    return c


def news_cover():
    w, h = 1200, 630
    c = Canvas(w, h)
    vertical_gradient(c, [(0.0, (168, 212, 200)), (0.55, (232, 240, 220)), (1.0, CREAM)])
    c.disc(1010, 130, 70, SUN)
    c.disc(1010, 130, 100, SUN, 0.25)
    # Ground.
    c.rect(0, 540, w, h, GREEN)
    c.rect(0, 540, w, 552, LEAF)
    # Three apartment blocks with solar roofs.
    blocks = [
        (150, 250, 430, TERRACOTTA),
        (470, 190, 770, SAND),
        (810, 290, 1060, (214, 128, 84)),
    ]
    for x0, top, x1, col in blocks:
        c.rect(x0, top, x1, 541, col)
        # Windows in a grid.
        cols = int((x1 - x0 - 30) // 50)
        rows_ = int((541 - top - 70) // 62)
        gap_x = (x1 - x0 - cols * 30) / (cols + 1)
        for r in range(rows_):
            for k in range(cols):
                wx = x0 + gap_x + k * (30 + gap_x)
                wy = top + 40 + r * 62
                c.rect(wx, wy, wx + 30, wy + 38, WINDOW)
        # Roof: tilted-looking panels as a band of dark blue modules.
        c.rect(x0 - 6, top - 8, x1 + 6, top, FOREST)
        n = int((x1 - x0 - 20) // 44)
        for k in range(n):
            px = x0 + 12 + k * 44
            c.rect(px, top - 34, px + 38, top - 10, PANEL)
            c.rect(px + 18, top - 33, px + 20, top - 11, PANEL_LINE)
    # A few round trees.
    for tx in (90, 450, 790, 1120):
        c.rect(tx - 4, 500, tx + 4, 545, (110, 80, 54))
        c.disc(tx, 488, 30, GREEN)
        c.disc(tx - 10, 478, 16, LEAF, 0.8)
    return c


def interviewee():
    w = h = 400
    c = Canvas(w, h)

    def bg(x, y):
        d = math.hypot(x - 200, y - 170) / 280.0
        return mix((255, 236, 190), PEACH, smooth(d)), 1.0
    c.shade(bg)
    c.ring(200, 200, 182, 6, LEAF)
    # Stylised head-and-shoulders silhouette, clipped to the ring's inside.

    def figure(x, y):
        inside = max(0.0, min(1.0, 179 - math.hypot(x - 200, y - 200) + 0.5))
        head = max(0.0, min(1.0, 70 - math.hypot(x - 200, y - 160) + 0.5))
        # Shoulders: an ellipse centred low.
        e = math.hypot((x - 200) / 135.0, (y - 370) / 120.0)
        body = max(0.0, min(1.0, (1 - e) * 120 + 0.5))
        a = max(head, body) * inside
        return mix(TERRACOTTA, (150, 70, 48), (y - 90) / 300.0), a
    c.shade(figure)
    return c


def avatar_camille():
    """Concentric warm rings on a diagonal green gradient."""
    c = Canvas(256, 256)

    def bg(x, y):
        return mix(LEAF, DARK_GREEN, (x + y) / 512.0), 1.0
    c.shade(bg)
    for r, col in ((96, CREAM), (74, ORANGE), (52, GOLD), (30, TERRACOTTA)):
        c.disc(128, 128, r, col)
    return c


def avatar_tom():
    """A green leaf shape (two overlapping circles) on a warm yellow background."""
    c = Canvas(256, 256)

    def bg(x, y):
        d = math.hypot(x - 128, y - 128) / 181.0
        return mix((255, 226, 140), ORANGE, smooth(d)), 1.0
    c.shade(bg)
    # Leaf = intersection of two discs whose centres sit either side of the
    # diagonal running from bottom left to top right.
    k = 80 / math.sqrt(2)
    R = 120
    c1 = (128 + k, 128 + k)
    c2 = (128 - k, 128 - k)

    def stem(x, y):
        # Short stem beyond the lower-left tip.
        d = abs((x - 128) + (y - 128)) / math.sqrt(2)
        along = ((x - 128) - (y - 128)) / math.sqrt(2)
        if not -112 < along < -80:
            return None
        return DARK_GREEN, max(0.0, min(1.0, 2.5 - d + 0.5))
    c.shade(stem)

    def leaf(x, y):
        d1 = R - math.hypot(x - c1[0], y - c1[1])
        d2 = R - math.hypot(x - c2[0], y - c2[1])
        cov = max(0.0, min(1.0, min(d1, d2) + 0.5))
        return mix(LEAF, DARK_GREEN, (x + y) / 512.0), cov
    c.shade(leaf)
    # Midrib of the leaf.

    def rib(x, y):
        d = abs((x - 128) + (y - 128)) / math.sqrt(2)
        along = abs((x - 128) - (y - 128)) / math.sqrt(2)
        if along > 76:
            return None
        return (230, 240, 200), max(0.0, min(1.0, 2 - d + 0.5)) * 0.9
    c.shade(rib)
    return c


IMAGES = [
    ("logo.png", logo),
    ("interview-cover.png", interview_cover),
    ("news-cover.png", news_cover),
    ("interviewee.png", interviewee),
    ("avatar-camille.png", avatar_camille),
    ("avatar-tom.png", avatar_tom),
]


def main():
    os.makedirs(MEDIA, exist_ok=True)
    for name, make in IMAGES:
        c = make()
        size = write_png(os.path.join(MEDIA, name), c.w, c.h, c.rows())
        print(f"{name}: {c.w}x{c.h}, {size} bytes")


if __name__ == "__main__":
    main()
