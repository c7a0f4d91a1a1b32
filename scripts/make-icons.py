#!/usr/bin/env python3
"""Draws the app icons (core/static/icons/icon-192.png, icon-512.png): a mesh of nine
nodes on the accent colour, the "maillage" of a territory. Standard library only;
rerun after changing the design."""
import math, struct, zlib, pathlib

ACCENT = (0x0B, 0x5F, 0xA5)
WHITE = (0xFF, 0xFF, 0xFF)

def draw(size):
    px = [[ACCENT for _ in range(size)] for _ in range(size)]
    nodes = [(size * (0.25 + 0.25 * i), size * (0.25 + 0.25 * j)) for j in range(3) for i in range(3)]
    edges = [(a, b) for a in range(9) for b in range(a + 1, 9)
             if math.dist(nodes[a], nodes[b]) < size * 0.36]
    width, radius = size * 0.035, size * 0.07
    for y in range(size):
        for x in range(size):
            p = (x + 0.5, y + 0.5)
            if any(math.dist(p, n) <= radius for n in nodes):
                px[y][x] = WHITE
                continue
            for a, b in edges:
                (ax, ay), (bx, by) = nodes[a], nodes[b]
                dx, dy = bx - ax, by - ay
                t = max(0, min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / (dx * dx + dy * dy)))
                if math.dist(p, (ax + t * dx, ay + t * dy)) <= width / 2:
                    px[y][x] = WHITE
                    break
    raw = b"".join(b"\x00" + bytes(c for rgb in row for c in rgb) for row in px)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

out = pathlib.Path(__file__).resolve().parent.parent / "core" / "static" / "icons"
out.mkdir(parents=True, exist_ok=True)
for size in (192, 512):
    (out / f"icon-{size}.png").write_bytes(draw(size))
