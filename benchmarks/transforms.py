"""The query transforms, grouped into the families the issue names.

Each transform takes clean RGB pixels and a seeded random generator and returns the
encoded bytes a user would search with (the format is part of the transform). Indexed
images are stored as JPEG quality 90, like a typical published photograph.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

__all__ = ["TRANSFORMS", "Transform", "encode", "original"]

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


TRANSFORMS: tuple[Transform, ...] = (
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
