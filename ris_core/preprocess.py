"""Built-in preprocessing steps, applied to decoded pixels before features are computed.

Each step is a plain function from ``PIL.Image`` to ``PIL.Image``. The default chain
(:data:`DEFAULT_STEPS`) makes the pixels a feature extractor sees independent of how the
file happened to be stored: EXIF orientation applied, transparency flattened onto a
background, and every colour mode (CMYK, 16-bit, palette, bilevel) brought to ``RGB`` or
``L``. :func:`trim_borders` is opt-in because it changes what "the same picture" means.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageOps

from ris_core.images import PreprocessStep, gray8

__all__ = [
    "BUILTIN_STEPS",
    "DEFAULT_STEPS",
    "apply_exif_orientation",
    "flatten_transparency",
    "normalize_mode",
    "trim_borders",
]

_BACKGROUND = (255, 255, 255)


def apply_exif_orientation(image: Image.Image) -> Image.Image:
    """Rotate or mirror the pixels as the EXIF Orientation tag says, then drop the tag."""
    return ImageOps.exif_transpose(image) or image


def flatten_transparency(image: Image.Image) -> Image.Image:
    """Composite images with an alpha channel (or palette transparency) onto white."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image


def normalize_mode(image: Image.Image) -> Image.Image:
    """Bring any colour mode to ``RGB`` (colour) or ``L`` (grey), scaling 16-bit data."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # Pillow's convert() clips wide integers at 255 instead of scaling them.
        return gray8(image)
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def trim_borders(image: Image.Image, tolerance: int = 12) -> Image.Image:
    """Cut away uniform borders (letterboxing, frames) that differ from the corner colour.

    Keeps the image unchanged if trimming would leave less than a quarter of it.
    """
    grey = image.convert("L")
    background = Image.new("L", grey.size, grey.getpixel((0, 0)))
    difference = ImageChops.difference(grey, background).point(lambda v: 255 if v > tolerance else 0)
    box = difference.getbbox()
    if box is None:
        return image
    left, top, right, bottom = box
    if (right - left) * (bottom - top) < image.width * image.height / 4:
        return image
    return image.crop(box)


#: The chain applied unless the caller configures another.
DEFAULT_STEPS: tuple[PreprocessStep, ...] = (
    apply_exif_orientation,
    flatten_transparency,
    normalize_mode,
)

#: Steps selectable by name (``ris_core.open(preprocessing=[...])`` and ``--preprocess``).
BUILTIN_STEPS: dict[str, PreprocessStep] = {
    "exif-orientation": apply_exif_orientation,
    "flatten-transparency": flatten_transparency,
    "normalize-mode": normalize_mode,
    "trim-borders": trim_borders,
}
