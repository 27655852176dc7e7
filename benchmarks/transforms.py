"""The query transforms, grouped into the families the issues name.

Each transform takes clean RGB pixels and a seeded random generator and returns the
encoded bytes a user would search with (the format is part of the transform). Indexed
images are stored as JPEG quality 90, like a typical published photograph.

``CORE_TRANSFORMS`` are the families issue 5 set targets on. ``NEW_TRANSFORMS`` are the
families issue 13 adds: quarter turns (lost EXIF orientation), big rotations, heavy
crops, the picture pasted into another layout (picture-in-picture, a phone screenshot,
two-picture collages), occlusion and tiny thumbnails. Compositing transforms take a
*backdrop*, a second photograph that is never indexed (see :mod:`benchmarks.split`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

__all__ = ["CORE_TRANSFORMS", "NEW_TRANSFORMS", "TRANSFORMS", "Transform", "encode", "original"]

Pixels = npt.NDArray[np.uint8]
Rng = np.random.Generator


@dataclass(frozen=True)
class Transform:
    """A named query transform and its family."""

    name: str
    family: str
    apply: Callable[[Image.Image, Rng], bytes]
    #: True when the transform cuts picture content away (crops, rotations). Negatives
    #: never use these: a crop of a negative may fall inside an indexed crop and so
    #: become a true crop of it.
    cuts: bool = False
    #: Set for compositing transforms: ``(picture, backdrop, rng) -> bytes``, where the
    #: backdrop is an unrelated photograph that is never indexed.
    composite: Callable[[Image.Image, Image.Image, Rng], bytes] | None = None
    #: False where a copy is no duplicate of the picture (it shows it inside another
    #: layout, or only a part of it): such copies stay out of the find-duplicates set.
    duplicate: bool = True

    def make(self, image: Image.Image, rng: Rng, backdrop: Image.Image | None = None) -> bytes:
        """The query bytes of ``image`` (``backdrop`` is required by compositing transforms)."""
        if self.composite is None:
            return self.apply(image, rng)
        if backdrop is None:
            raise ValueError(f"transform {self.name!r} pastes the picture onto a backdrop; none was given")
        return self.composite(image, backdrop, rng)


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    """Encode ``image`` as ``fmt`` (JPEG and WebP at ``quality``)."""
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, "JPEG", quality=quality)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=quality)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def original(pixels: Pixels) -> bytes:
    """The indexed copy of a crop: JPEG quality 90."""
    return encode(Image.fromarray(pixels))


def _scale(image: Image.Image, factor: float, resample: Image.Resampling = Image.Resampling.BICUBIC) -> Image.Image:
    size = (max(8, round(image.width * factor)), max(8, round(image.height * factor)))
    return image.resize(size, resample)


def _crop(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))


def _random_crop(image: Image.Image, rng: Rng, low: float = 0.05, high: float = 0.20) -> Image.Image:
    return _crop(image, *(float(x) for x in rng.uniform(low, high, size=4)))


def _rotate_inner(image: Image.Image, degrees: float) -> Image.Image:
    """Rotate, then keep the largest centred upright rectangle with no empty corners."""
    rotated = image.rotate(degrees, Image.Resampling.BICUBIC, expand=True)
    w, h = image.size
    a = math.radians(abs(degrees))
    sin, cos = math.sin(a), math.cos(a)
    # Largest axis-aligned rectangle inside the rotated w x h rectangle, same aspect.
    scale = min(w / (w * cos + h * sin), h / (w * sin + h * cos))
    inner_w, inner_h = w * scale, h * scale
    cx, cy = rotated.width / 2, rotated.height / 2
    return rotated.crop(
        (round(cx - inner_w / 2), round(cy - inner_h / 2), round(cx + inner_w / 2), round(cy + inner_h / 2))
    )


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _caption(image: Image.Image, rng: Rng) -> Image.Image:
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    bar = max(12, out.height // 8)
    draw.rectangle((0, out.height - bar, out.width, out.height), fill=(0, 0, 0))
    words = " ".join(rng.choice(["Holiday", "Best", "view", "2024", "look", "at", "this", "amazing"], 4))
    draw.text((bar // 3, out.height - bar + bar // 6), words, fill=(255, 255, 255), font=_font(int(bar * 0.7)))
    return out


def _watermark(image: Image.Image, rng: Rng) -> Image.Image:
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(10, base.width // 7)
    x, y = int(rng.integers(0, base.width // 4 + 1)), int(rng.integers(base.height // 4, base.height // 2 + 1))
    draw.text((x, y), "© SAMPLE", fill=(255, 255, 255, 110), font=_font(size))
    return Image.alpha_composite(base, layer).convert("RGB")


def _logo(image: Image.Image, rng: Rng) -> Image.Image:
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    side = max(10, min(out.size) // 6)
    pad = side // 4
    draw.ellipse(
        (out.width - side - pad, pad, out.width - pad, pad + side),
        fill=(230, 30, 30),
        outline=(255, 255, 255),
        width=max(1, side // 10),
    )
    return out


def _border(image: Image.Image, fraction: float, colour: tuple[int, int, int]) -> Image.Image:
    pad = max(2, round(min(image.size) * fraction))
    return ImageOps.expand(image.convert("RGB"), border=pad, fill=colour)


def _letterbox(image: Image.Image, aspect: float) -> Image.Image:
    """Centre the image on black bars so the frame has width/height ``aspect``."""
    w, h = image.size
    size = (round(h * aspect), h) if w / h < aspect else (w, round(w / aspect))
    canvas = Image.new("RGB", size)
    canvas.paste(image.convert("RGB"), ((canvas.width - w) // 2, (canvas.height - h) // 2))
    return canvas


def _screenshot(image: Image.Image, rng: Rng) -> bytes:
    """Shown on a screen at 125% (bilinear), captured as PNG with a window frame."""
    shown = _scale(image.convert("RGB"), 1.25, Image.Resampling.BILINEAR)
    framed = ImageOps.expand(shown, border=(2, 24, 2, 2), fill=(236, 236, 236))
    return encode(framed, "PNG")


def _jpeg(quality: int) -> Callable[[Image.Image, Rng], bytes]:
    return lambda image, rng: encode(image, "JPEG", quality)


def _then_jpeg(
    step: Callable[[Image.Image, Rng], Image.Image], quality: int = 80
) -> Callable[[Image.Image, Rng], bytes]:
    return lambda image, rng: encode(step(image, rng), "JPEG", quality)


CORE_TRANSFORMS: tuple[Transform, ...] = (
    Transform("jpeg_q50", "compression", _jpeg(50)),
    Transform("jpeg_q30", "compression", _jpeg(30)),
    Transform("jpeg_q15", "compression", _jpeg(15)),
    Transform("scale_25", "scale", _then_jpeg(lambda im, r: _scale(im, 0.25, Image.Resampling.LANCZOS), 90)),
    Transform("scale_50", "scale", _then_jpeg(lambda im, r: _scale(im, 0.5, Image.Resampling.LANCZOS), 90)),
    Transform("scale_200", "scale", _then_jpeg(lambda im, r: _scale(im, 2.0), 90)),
    Transform("png", "format", lambda im, r: encode(im, "PNG")),
    Transform("webp_q75", "format", lambda im, r: encode(im, "WEBP", 75)),
    Transform("grayscale", "colour", _then_jpeg(lambda im, r: im.convert("L"))),
    Transform("brighter_30", "colour", _then_jpeg(lambda im, r: ImageEnhance.Brightness(im).enhance(1.3))),
    Transform("darker_30", "colour", _then_jpeg(lambda im, r: ImageEnhance.Brightness(im).enhance(0.7))),
    Transform("contrast_up_50", "colour", _then_jpeg(lambda im, r: ImageEnhance.Contrast(im).enhance(1.5))),
    Transform("contrast_down_40", "colour", _then_jpeg(lambda im, r: ImageEnhance.Contrast(im).enhance(0.6))),
    Transform("blur_1.5", "blur", _then_jpeg(lambda im, r: im.filter(ImageFilter.GaussianBlur(1.5)))),
    Transform("blur_3", "blur", _then_jpeg(lambda im, r: im.filter(ImageFilter.GaussianBlur(3)))),
    Transform("screenshot", "screenshot", _screenshot),
    Transform("caption", "overlay", _then_jpeg(_caption)),
    Transform("watermark", "overlay", _then_jpeg(_watermark)),
    Transform("logo", "overlay", _then_jpeg(_logo)),
    Transform("border_white_10", "border", _then_jpeg(lambda im, r: _border(im, 0.10, (255, 255, 255)))),
    Transform("border_black_5", "border", _then_jpeg(lambda im, r: _border(im, 0.05, (0, 0, 0)))),
    Transform(
        "letterbox_16x9",
        "border",
        _then_jpeg(lambda im, r: _letterbox(im, 16 / 9 if im.width / im.height < 16 / 9 else 9 / 16)),
    ),
    Transform(
        "stretch_w130",
        "aspect",
        _then_jpeg(lambda im, r: im.resize((round(im.width * 1.3), im.height), Image.Resampling.BICUBIC)),
    ),
    Transform(
        "squeeze_w75",
        "aspect",
        _then_jpeg(lambda im, r: im.resize((round(im.width * 0.75), im.height), Image.Resampling.BICUBIC)),
    ),
    Transform("hflip", "flip", _then_jpeg(lambda im, r: ImageOps.mirror(im))),
    Transform("crop_5", "crop", _then_jpeg(lambda im, r: _crop(im, 0.05, 0.05, 0.05, 0.05)), cuts=True),
    Transform("crop_5_20", "crop", _then_jpeg(_random_crop), cuts=True),
    Transform("crop_20", "crop", _then_jpeg(lambda im, r: _crop(im, 0.2, 0.2, 0.2, 0.2)), cuts=True),
    Transform("crop_centre_70", "crop", _then_jpeg(lambda im, r: _crop(im, 0.15, 0.15, 0.15, 0.15)), cuts=True),
    Transform("rotate_3", "rotation", _then_jpeg(lambda im, r: _rotate_inner(im, 3.0)), cuts=True),
    Transform("rotate_-10", "rotation", _then_jpeg(lambda im, r: _rotate_inner(im, -10.0)), cuts=True),
    Transform(
        "rotate_10_fill",
        "rotation",
        _then_jpeg(lambda im, r: im.convert("RGB").rotate(10, Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))),
        cuts=True,
    ),
    Transform("jpeg30_scale50", "combination", _then_jpeg(lambda im, r: _scale(im, 0.5, Image.Resampling.LANCZOS), 30)),
    Transform("crop_jpeg40", "combination", _then_jpeg(_random_crop, 40), cuts=True),
    Transform(
        "flip_crop_10",
        "combination",
        _then_jpeg(lambda im, r: _crop(ImageOps.mirror(im), 0.1, 0.1, 0.1, 0.1)),
        cuts=True,
    ),
    Transform(
        "rotate3_crop_jpeg50",
        "combination",
        _then_jpeg(lambda im, r: _random_crop(_rotate_inner(im, 3.0), r), 50),
        cuts=True,
    ),
    Transform(
        "border_scale50_jpeg50",
        "combination",
        _then_jpeg(lambda im, r: _border(_scale(im, 0.5), 0.08, (255, 255, 255)), 50),
    ),
    Transform(
        "caption_gray_scale75", "combination", _then_jpeg(lambda im, r: _caption(_scale(im, 0.75), r).convert("L"))
    ),
    Transform(
        "flip_brighter_jpeg30",
        "combination",
        _then_jpeg(lambda im, r: ImageEnhance.Brightness(ImageOps.mirror(im)).enhance(1.2), 30),
    ),
)


def _quarter(turn: Image.Transpose) -> Callable[[Image.Image, Rng], Image.Image]:
    return lambda image, rng: image.transpose(turn)


def _rotate_expand(degrees: float) -> Callable[[Image.Image, Rng], Image.Image]:
    """Rotate the whole picture; the frame grows and the corners are filled black."""
    return lambda image, rng: image.convert("RGB").rotate(
        degrees, Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0)
    )


def _corner_quarter(image: Image.Image, rng: Rng) -> Image.Image:
    """Half the width and half the height (a quarter of the area), at a random corner."""
    left, top = (float(x) for x in rng.integers(0, 2, size=2) * 0.5)
    return _crop(image, left, top, 0.5 - left, 0.5 - top)


def _small_crop(image: Image.Image, rng: Rng) -> Image.Image:
    """A random box keeping 12-22% of the area, of a random aspect, anywhere."""
    area, stretch = float(rng.uniform(0.12, 0.22)), float(np.exp(rng.uniform(-0.35, 0.35)))
    width, height = min(0.9, math.sqrt(area * stretch)), min(0.9, math.sqrt(area / stretch))
    left, top = float(rng.uniform(0, 1 - width)), float(rng.uniform(0, 1 - height))
    return _crop(image, left, top, 1 - left - width, 1 - top - height)


def _fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` cropped about its centre to the aspect of ``size``, then resized to it."""
    return ImageOps.fit(image.convert("RGB"), size, Image.Resampling.LANCZOS)


def _picture_in_picture(picture: Image.Image, backdrop: Image.Image, rng: Rng) -> bytes:
    """The picture shrunk to about a third of the frame, pasted anywhere on a backdrop."""
    width = int(np.clip(3 * picture.width, 600, 1200))
    aspect = float(np.clip(backdrop.width / backdrop.height, 0.75, 1.8))
    frame = _fit(backdrop, (width, round(width / aspect)))
    share = float(rng.uniform(0.3, 0.4))  # of the frame's width or height, whichever binds
    scale = share * min(frame.width / picture.width, frame.height / picture.height)
    small = _scale(picture.convert("RGB"), scale, Image.Resampling.LANCZOS)
    x = int(rng.integers(0, frame.width - small.width + 1))
    y = int(rng.integers(0, frame.height - small.height + 1))
    frame.paste(small, (x, y))
    return encode(frame, "JPEG", 85)


def _phone_screenshot(picture: Image.Image, backdrop: Image.Image, rng: Rng) -> bytes:
    """A 720x1480 phone screenshot of a feed: status bar, header, the picture at full
    width, a caption, the start of the next post (the backdrop) and the navigation bar."""
    width, height = 720, 1480
    screen = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, width, 48), fill=(20, 20, 20))
    draw.text(
        (24, 10), f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}", fill=(255, 255, 255), font=_font(26)
    )
    draw.ellipse((24, 64, 104, 144), fill=tuple(int(c) for c in rng.integers(40, 220, size=3)))
    draw.text((124, 84), "friend_of_a_friend", fill=(20, 20, 20), font=_font(30))
    shown = _scale(picture.convert("RGB"), width / picture.width, Image.Resampling.BILINEAR)
    shown = shown.crop((0, 0, width, min(shown.height, 900)))  # a feed crops very tall posts
    screen.paste(shown, (0, 160))
    y = 160 + shown.height + 20
    for k in range(3):
        draw.ellipse((24 + 64 * k, y, 64 + 64 * k, y + 40), outline=(40, 40, 40), width=3)
    y += 64
    for k in range(2):
        draw.rectangle((24, y, width - 24 - 160 * k, y + 18), fill=(200, 200, 200))
        y += 34
    next_post = _fit(backdrop, (width, width * 3 // 4))
    screen.paste(next_post, (0, y + 30))
    draw.rectangle((0, height - 80, width, height), fill=(245, 245, 245))
    return encode(screen, "PNG")


def _collage(vertical: bool) -> Callable[[Image.Image, Image.Image, Rng], bytes]:
    """The picture beside (or above) an unrelated photograph, a white gutter between them."""

    def make(picture: Image.Image, backdrop: Image.Image, rng: Rng) -> bytes:
        side = int(rng.integers(360, 641))  # the shared height (or width, stacked)
        gutter = int(rng.integers(4, 17))
        if vertical:
            first = _scale(picture.convert("RGB"), side / picture.width, Image.Resampling.LANCZOS)
            second = _fit(backdrop, (first.width, first.height))
            canvas = Image.new("RGB", (side, 2 * first.height + gutter), (255, 255, 255))
        else:
            first = _scale(picture.convert("RGB"), side / picture.height, Image.Resampling.LANCZOS)
            second = _fit(backdrop, (first.width, first.height))
            canvas = Image.new("RGB", (2 * first.width + gutter, side), (255, 255, 255))
        pictures = [first, second] if rng.random() < 0.5 else [second, first]
        offset = (0, first.height + gutter) if vertical else (first.width + gutter, 0)
        canvas.paste(pictures[0], (0, 0))
        canvas.paste(pictures[1], offset)
        return encode(canvas, "JPEG", 85)

    return make


def _stickers(low: float, high: float) -> Callable[[Image.Image, Rng], Image.Image]:
    """Opaque stickers (discs, rounded squares, stars) until they cover ``low``-``high``
    of the picture; the covered share is counted on a mask, not estimated."""

    def make(image: Image.Image, rng: Rng) -> Image.Image:
        out = image.convert("RGB")
        covered = Image.new("L", out.size, 0)
        draw, mask = ImageDraw.Draw(out), ImageDraw.Draw(covered)
        area = out.width * out.height
        for _ in range(200):
            share = float(np.count_nonzero(np.asarray(covered))) / area
            if share >= low:
                break
            r = float(rng.uniform(0.06, 0.14)) * min(out.size)
            cx, cy = float(rng.uniform(r, out.width - r)), float(rng.uniform(r, out.height - r))
            trial = covered.copy()
            shape = int(rng.integers(3))
            _sticker(ImageDraw.Draw(trial), shape, cx, cy, r, 255)
            if float(np.count_nonzero(np.asarray(trial))) / area > high:
                continue
            colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
            _sticker(draw, shape, cx, cy, r, colour)
            _sticker(mask, shape, cx, cy, r, 255)
        return out

    return make


def _sticker(draw: ImageDraw.ImageDraw, shape: int, cx: float, cy: float, r: float, fill: object) -> None:
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == 0:
        draw.ellipse(box, fill=fill)  # type: ignore[arg-type]
    elif shape == 1:
        draw.rounded_rectangle(box, radius=r / 3, fill=fill)  # type: ignore[arg-type]
    else:
        points = [
            (
                cx + (r if k % 2 == 0 else r / 2.2) * math.sin(k * math.pi / 5),
                cy - (r if k % 2 == 0 else r / 2.2) * math.cos(k * math.pi / 5),
            )
            for k in range(10)
        ]
        draw.polygon(points, fill=fill)  # type: ignore[arg-type]


def _meme(image: Image.Image, rng: Rng) -> Image.Image:
    """Big white captions with a black outline over the top and the bottom of the picture."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    words = ["WHEN", "YOU", "SEE", "IT", "NOBODY", "ME", "MONDAY", "MOOD", "EVERY", "TIME", "THIS", "IS", "FINE"]
    for top in (True, False):
        text = " ".join(rng.choice(words, int(rng.integers(2, 5))))
        size = max(12, out.height // 7)
        font = _font(size)
        while size > 12 and draw.textlength(text, font=font) > 0.94 * out.width:
            size -= 2
            font = _font(size)
        x = (out.width - draw.textlength(text, font=font)) / 2
        y = out.height * 0.03 if top else out.height * 0.97 - size * 1.15
        draw.text((x, y), text, fill=(255, 255, 255), font=font, stroke_width=max(2, size // 12), stroke_fill=(0, 0, 0))
    return out


def _thumbnail(longest: int) -> Callable[[Image.Image, Rng], Image.Image]:
    def make(image: Image.Image, rng: Rng) -> Image.Image:
        small = image.convert("RGB")
        small.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        return small

    return make


def _needs_backdrop(image: Image.Image, rng: Rng) -> bytes:
    raise ValueError("this transform pastes the picture onto a backdrop: call Transform.make with one")


def _pasted(name: str, family: str, make: Callable[[Image.Image, Image.Image, Rng], bytes]) -> Transform:
    return Transform(name, family, _needs_backdrop, composite=make, duplicate=False)


NEW_TRANSFORMS: tuple[Transform, ...] = (
    Transform("rot90", "quarter-turn", _then_jpeg(_quarter(Image.Transpose.ROTATE_90))),
    Transform("rot180", "quarter-turn", _then_jpeg(_quarter(Image.Transpose.ROTATE_180))),
    Transform("rot270", "quarter-turn", _then_jpeg(_quarter(Image.Transpose.ROTATE_270))),
    Transform("mirror_rot90", "quarter-turn", _then_jpeg(_quarter(Image.Transpose.TRANSPOSE))),
    Transform("rotate_25", "big-rotation", _then_jpeg(lambda im, r: _rotate_inner(im, 25.0)), True, duplicate=False),
    Transform("rotate_-35", "big-rotation", _then_jpeg(lambda im, r: _rotate_inner(im, -35.0)), True, duplicate=False),
    Transform("rotate_45", "big-rotation", _then_jpeg(lambda im, r: _rotate_inner(im, 45.0)), True, duplicate=False),
    Transform("rotate_30_expand", "big-rotation", _then_jpeg(_rotate_expand(30.0)), duplicate=False),
    Transform("rotate_-45_expand", "big-rotation", _then_jpeg(_rotate_expand(-45.0)), duplicate=False),
    Transform(
        "crop_quarter_centre",
        "heavy-crop",
        _then_jpeg(lambda im, r: _crop(im, 0.25, 0.25, 0.25, 0.25)),
        True,
        duplicate=False,
    ),
    Transform("crop_quarter_corner", "heavy-crop", _then_jpeg(_corner_quarter), True, duplicate=False),
    Transform("crop_12_22", "heavy-crop", _then_jpeg(_small_crop), True, duplicate=False),
    _pasted("pip_third", "picture-in-picture", _picture_in_picture),
    _pasted("pip_phone_screenshot", "picture-in-picture", _phone_screenshot),
    _pasted("collage_side_by_side", "collage", _collage(vertical=False)),
    _pasted("collage_stacked", "collage", _collage(vertical=True)),
    Transform("stickers_15", "occlusion", _then_jpeg(_stickers(0.15, 0.19)), duplicate=False),
    Transform("stickers_25", "occlusion", _then_jpeg(_stickers(0.21, 0.25)), duplicate=False),
    Transform("meme_caption", "occlusion", _then_jpeg(_meme), duplicate=False),
    Transform("thumb_128", "thumbnail", _then_jpeg(_thumbnail(128), 85)),
    Transform("thumb_64", "thumbnail", _then_jpeg(_thumbnail(64), 85)),
)

TRANSFORMS: tuple[Transform, ...] = CORE_TRANSFORMS + NEW_TRANSFORMS
