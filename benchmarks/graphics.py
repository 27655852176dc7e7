"""Synthetic graphics: the hard negatives photographs do not provide.

Real collections hold many pictures that are not photographs: logos, diagrams, charts,
documents, UI screenshots, flat illustrations. Two *different* ones share flat colours,
straight edges, right-angled corners, the same font and similar layouts, so local
features (a corner is a corner) and global hashes (white page, black text) both find
them alike. Every picture here is drawn from a seed with Pillow and NumPy only (the
font is Pillow's bundled one), so the set is the same on every machine.

Kinds, in turn by seed: ``shapes`` (:func:`ris_core.testing.images.photo`: a smooth
colour field with flat ellipses and rectangles), ``flat`` (flat shapes on a plain
background), ``diagram`` (outlined boxes, arrows and labels), ``chart`` (bars or lines
with axes and ticks), ``document`` (lines of text), ``ui`` (a window with a title bar,
buttons and list rows) and ``logo`` (a badge and a word).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ris_core.testing.images import photo

__all__ = ["KINDS", "graphic"]

Rng = np.random.Generator
_WORDS = (
    "Report",
    "Total",
    "Sales",
    "Q3",
    "Revenue",
    "Users",
    "Login",
    "Settings",
    "Home",
    "About",
    "Contact",
    "Search",
    "Profile",
    "Export",
    "Import",
    "Cancel",
    "Submit",
    "Next",
    "Back",
    "Open",
    "Save",
    "Delete",
    "Edit",
    "View",
    "Help",
    "Status",
    "Error",
    "Ready",
    "Server",
    "Client",
    "Network",
    "Input",
    "Output",
    "Data",
    "Model",
    "Result",
    "Summary",
    "Overview",
    "Details",
    "Account",
    "Billing",
    "Orders",
    "Items",
)
_PALETTE = (
    (231, 76, 60),
    (46, 204, 113),
    (52, 152, 219),
    (241, 196, 15),
    (155, 89, 182),
    (52, 73, 94),
    (230, 126, 34),
    (26, 188, 156),
    (236, 240, 241),
    (0, 0, 0),
    (255, 255, 255),
)


def _colour(rng: Rng) -> tuple[int, int, int]:
    return _PALETTE[int(rng.integers(len(_PALETTE)))]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _words(rng: Rng, count: int) -> str:
    return " ".join(_WORDS[int(i)] for i in rng.integers(len(_WORDS), size=count))


def _size(rng: Rng) -> tuple[int, int]:
    width = int(rng.integers(240, 640))
    return width, int(width * rng.uniform(0.6, 1.4))


def _flat(rng: Rng) -> Image.Image:
    image = Image.new("RGB", _size(rng), _colour(rng))
    draw = ImageDraw.Draw(image)
    w, h = image.size
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, w * 3 // 4)), int(rng.integers(0, h * 3 // 4))
        x1, y1 = x0 + int(rng.integers(w // 10, w // 3)), y0 + int(rng.integers(h // 10, h // 3))
        kind = int(rng.integers(3))
        if kind == 0:
            draw.rectangle((x0, y0, x1, y1), fill=_colour(rng))
        elif kind == 1:
            draw.ellipse((x0, y0, x1, y1), fill=_colour(rng))
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=_colour(rng))
    return image


def _diagram(rng: Rng) -> Image.Image:
    image = Image.new("RGB", _size(rng), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    w, h = image.size
    font = _font(max(10, h // 24))
    centres = []
    for _ in range(int(rng.integers(3, 7))):
        bw, bh = int(rng.integers(w // 6, w // 3)), int(rng.integers(h // 10, h // 5))
        x0, y0 = int(rng.integers(4, w - bw - 4)), int(rng.integers(4, h - bh - 4))
        draw.rectangle((x0, y0, x0 + bw, y0 + bh), fill=_colour(rng), outline=(0, 0, 0), width=2)
        draw.text((x0 + 6, y0 + bh // 3), _words(rng, 1), fill=(0, 0, 0), font=font)
        centres.append((x0 + bw // 2, y0 + bh // 2))
    for a, b in itertools.pairwise(centres):
        draw.line((a, b), fill=(60, 60, 60), width=2)
    return image


def _chart(rng: Rng) -> Image.Image:
    image = Image.new("RGB", _size(rng), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    w, h = image.size
    left, bottom = w // 8, h - h // 8
    draw.line((left, h // 10, left, bottom), fill=(0, 0, 0), width=2)
    draw.line((left, bottom, w - w // 20, bottom), fill=(0, 0, 0), width=2)
    font = _font(max(9, h // 30))
    count = int(rng.integers(4, 12))
    step = (w - w // 20 - left) / count
    values = rng.uniform(0.1, 0.9, count) * (bottom - h // 10)
    if rng.random() < 0.5:
        for i, v in enumerate(values):
            x = left + i * step + step * 0.15
            draw.rectangle((x, bottom - v, x + step * 0.7, bottom), fill=_colour(rng))
    else:
        points = [(left + (i + 0.5) * step, bottom - v) for i, v in enumerate(values)]
        draw.line(points, fill=_colour(rng), width=3)
    for i in range(count):
        draw.text((left + i * step + 2, bottom + 4), str(int(rng.integers(1, 99))), fill=(0, 0, 0), font=font)
    draw.text((left, 4), _words(rng, 3), fill=(0, 0, 0), font=_font(max(10, h // 20)))
    return image


def _document(rng: Rng) -> Image.Image:
    image = Image.new("RGB", _size(rng), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    h = image.height
    size = int(rng.integers(12, 22))
    font = _font(size)
    y = size
    while y < h - 2 * size:
        draw.text((size, y), _words(rng, int(rng.integers(2, 9))), fill=(20, 20, 20), font=font)
        y += int(size * rng.uniform(1.3, 2.2))
    return image


def _ui(rng: Rng) -> Image.Image:
    image = Image.new("RGB", _size(rng), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    w, h = image.size
    bar = max(18, h // 14)
    draw.rectangle((0, 0, w, bar), fill=_colour(rng))
    draw.text((8, bar // 5), _words(rng, 2), fill=(255, 255, 255), font=_font(bar * 2 // 3))
    font = _font(max(10, bar // 2))
    y = bar + 8
    while y < h - bar:
        draw.rectangle((8, y, w - 8, y + bar), outline=(200, 200, 200), fill=(255, 255, 255))
        draw.text((14, y + bar // 5), _words(rng, int(rng.integers(1, 4))), fill=(40, 40, 40), font=font)
        y += bar + int(rng.integers(4, 12))
    for i in range(int(rng.integers(1, 4))):
        x = w - (i + 1) * (w // 5)
        draw.rounded_rectangle((x, h - bar - 6, x + w // 6, h - 6), radius=4, fill=_colour(rng))
    return image


def _logo(rng: Rng) -> Image.Image:
    image = Image.new("RGB", _size(rng), _colour(rng))
    draw = ImageDraw.Draw(image)
    w, h = image.size
    r = min(w, h) // int(rng.integers(4, 7))
    cx, cy = w // 2, h // 2 - r // 2
    if rng.random() < 0.5:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_colour(rng), outline=_colour(rng), width=r // 8 + 1)
    else:
        draw.regular_polygon((cx, cy, r), int(rng.integers(3, 8)), fill=_colour(rng))
    draw.text((w // 8, cy + r + 8), _words(rng, 2).upper(), fill=_colour(rng), font=_font(max(12, h // 8)))
    return image


def _shapes(rng: Rng) -> Image.Image:
    return photo(int(rng.integers(2**31)))


#: name -> drawing function, in the order seeds cycle through them.
KINDS: dict[str, Callable[[Rng], Image.Image]] = {
    "shapes": _shapes,
    "flat": _flat,
    "diagram": _diagram,
    "chart": _chart,
    "document": _document,
    "ui": _ui,
    "logo": _logo,
}


def graphic(seed: int) -> tuple[str, Image.Image]:
    """The kind and the RGB picture of ``seed`` (kinds take turns by seed)."""
    names = list(KINDS)
    kind = names[seed % len(names)]
    return kind, KINDS[kind](np.random.default_rng([seed, 7])).convert("RGB")
