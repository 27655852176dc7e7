"""The real photographs the benchmark cuts its crops from, all installed offline.

Every source ships inside a package from a registry, so nothing is downloaded when the
benchmark runs. ``core`` sources come with scikit-image, scikit-learn and PyWavelets;
``extra`` sources with matplotlib, mahotas and Debian's ``mate-backgrounds`` (its
``nature`` photographs), ``lomiri-wallpapers-16.04``/``-20.04`` (their photographs),
``opencv-doc`` (the photographs among OpenCV's sample data), ``gimp-help-en`` (the
original photographs of the GIMP manual's examples, those large enough to cut crops
from), ``tuxpaint-data`` (the photographs of Tux Paint's templates) and
``scribus-template`` (the photographs of Scribus's document templates). Synthetic
pictures (charts, logos, chessboards, phantoms, renders, paintings, drawings) are left
out on purpose: the benchmark is about photographs. So are second views of one scene
(stereo pairs, the frames of one sequence, a filter's output beside its original): two
photographs of one scene could fall on both sides of the split.

Pictures from endless-sky-high-dpi, plasma-workspace-wallpapers, ukui-wallpapers,
gnome-backgrounds, stellarium-data, palapeli-data and sddm-theme-maldives are kept for
an independent evaluation and must never be added here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = ["NEW_PHOTO_PREFIXES", "Photo", "available_sources", "load_photos", "missing_sources"]

RGB = npt.NDArray[np.uint8]

#: scikit-image's bundled photographs (its synthetic images are not listed).
_SKIMAGE = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "moon.png",
    "motorcycle_left.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)
_SKLEARN = ("china.jpg", "flower.jpg")
_PYWT = ("aero", "ascent")
_MAHOTAS = ("DepartmentStore.jpg", "luispedro.jpg", "nuclear.png")
_MATE_DIR = Path("/usr/share/backgrounds/mate/nature")
_LOMIRI_DIR = Path("/usr/share/backgrounds")
#: The photographs among the Lomiri wallpapers (the others are renders).
_LOMIRI = (
    "Bridge_by_Sander_Klootwijk.jpg",
    "Dragonfly_by_Bolly.jpg",
    "Kleiber_by_Lukas_Baubkus.jpg",
    "Picture_0B_by_freespace.jpg",
    "Picture_1A_by_freespace.jpg",
    "Wine_by_Jakkub_Mede.jpg",
    "aitzgorri_by_Aitzol_Berasategi.jpg",
    "analogpattern_by_Peter_Nerlich.jpg",
    "free_by_Peter_Nerlich.jpg",
    "friends_by_Aitzol_Berasategi.jpg",
    "greentock_by_Peter_Nerlich.jpg",
    "life_by_Aitzol_Berasategi.jpg",
    "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg",
    "sunset_by_Aitzol_Berasategi.jpg",
)
#: Names of the photographs added for issue 13. The engine's constants were tuned on
#: the others (all of them, before the split existed), so only these are unseen.
NEW_PHOTO_PREFIXES = ("opencv-doc/", "gimp-help-en/", "tuxpaint-data/", "scribus-template/")
_OPENCV_DIR = Path("/usr/share/doc/opencv-doc/examples")
#: OpenCV's sample photographs: one of each stereo pair or sequence (aero1, aloeL,
#: basketball1, leuvenA, rubberwhale1), no drawings, renders, paintings or documents.
_OPENCV = (
    "data/aero1.jpg",
    "data/aloeL.jpg",
    "data/apple.jpg",
    "data/baboon.jpg",
    "data/basketball1.png",
    "data/board.jpg",
    "data/box_in_scene.png",
    "data/building.jpg",
    "data/butterfly.jpg",
    "data/ela_original.jpg",
    "data/fruits.jpg",
    "data/graf1.png",
    "data/home.jpg",
    "data/leuvenA.jpg",
    "data/licenseplate_motion.jpg",
    "data/messi5.jpg",
    "data/orange.jpg",
    "data/pca_test1.jpg",
    "data/rubberwhale1.png",
    "data/squirrel_cls.jpg",
    "data/stuff.jpg",
    "alphamat/input_images/plant.jpg",
    "hfs/data/000.jpg",
    "hfs/data/001.jpg",
    "hfs/data/002.jpg",
    "text/scenetext01.jpg",
    "text/scenetext02.jpg",
    "text/scenetext03.jpg",
    "text/scenetext04.jpg",
    "text/scenetext05.jpg",
    "text/scenetext06.jpg",
    "text/scenetext_segmented_word01.jpg",
    "text/scenetext_segmented_word02.jpg",
    "text/scenetext_segmented_word03.jpg",
    "text/scenetext_segmented_word04.jpg",
    "text/scenetext_segmented_word05.jpg",
)
_GIMP_DIR = Path("/usr/share/gimp/2.0/help/en/images")
#: Originals of the GIMP manual's examples that are photographs and big enough for
#: 200-pixel crops (most of its examples are filter outputs of a few originals).
_GIMP = (
    "filters/examples/enhance/high-pass-origin.png",
    "filters/examples/map/pan-project-origin.jpg",
    "filters/examples/blur/mean_curvature-ex-1.jpg",
    "tutorials/tone-mapping/apple-orchard-truck-from-camera.jpg",
    "tutorials/tone-mapping/power-lines.jpg",
)

_TUXPAINT_DIR = Path("/usr/share/tuxpaint/templates")
#: Tux Paint's templates: every one is a photograph (its "starters" are drawings).
_TUXPAINT = (
    "burnt_bark.jpg",
    "cliff.jpg",
    "corn_maze.jpg",
    "jellyfish.jpg",
    "lighthouse.jpg",
    "mossy_bark.jpg",
    "mossy_log.jpg",
    "mudstone.jpg",
    "ocean_splash.jpg",
    "ocean_waves.jpg",
    "redwoods_above.jpg",
    "rocks.jpg",
    "sheep.jpg",
    "spiders_web.jpg",
    "sun_behind_clouds.jpg",
    "sun_behind_leaves.jpg",
    "trees_above.jpg",
    "trees_at_dusk.jpg",
    "wool_mill_machine.jpg",
)
_SCRIBUS_DIR = Path("/usr/share/scribus/templates")
#: The photographs of Scribus's templates, one per scene: not ``br2/brightness.jpg``
#: (a second frame of the eclipse in ``br2/halfmoon.jpg``) nor ``br2/moon.jpg`` (the
#: same face of the moon as ``cal2/moon.jpg``), nor those too small for crops.
_SCRIBUS = (
    "br2/halfmoon.jpg",
    "br2/nature.jpg",
    "br2/sunset.jpg",
    "cal2/moon.jpg",
    "menu2/pizza.jpg",
)


@dataclass(frozen=True)
class Photo:
    """One source photograph: where it came from and its RGB pixels."""

    name: str
    pixels: RGB


def _rgb(array: npt.NDArray[np.generic]) -> RGB:
    image = np.asarray(array)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def _package_dir(name: str) -> Path | None:
    # find_spec locates a package without importing it (mahotas imports are slow).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _skimage() -> Iterator[Photo]:
    folder = _package_dir("skimage")
    yield from _files("skimage", folder and folder / "data", _SKIMAGE)


def _files(prefix: str, folder: Path | None, names: tuple[str, ...]) -> Iterator[Photo]:
    for name in names:
        if folder is not None and (folder / name).exists():
            with Image.open(folder / name) as image:
                yield Photo(f"{prefix}/{name}", _rgb(np.asarray(image.convert("RGB"))))


def _sklearn() -> Iterator[Photo]:
    folder = _package_dir("sklearn")
    yield from _files("sklearn", folder and folder / "datasets" / "images", _SKLEARN)


def _pywt() -> Iterator[Photo]:
    folder = _package_dir("pywt")
    for name in _PYWT:
        if folder is not None:
            yield Photo(f"pywt/{name}", _rgb(np.load(folder / "data" / f"{name}.npz")["data"]))


def _matplotlib() -> Iterator[Photo]:
    folder = _package_dir("matplotlib")
    yield from _files("matplotlib", folder and folder / "mpl-data" / "sample_data", ("grace_hopper.jpg",))


def _mahotas() -> Iterator[Photo]:
    folder = _package_dir("mahotas")
    yield from _files("mahotas", folder and folder / "demos" / "data", _MAHOTAS)


def _mate() -> Iterator[Photo]:
    names = tuple(sorted(path.name for path in _MATE_DIR.glob("*.jpg"))) if _MATE_DIR.is_dir() else ()
    yield from _files("mate-backgrounds", _MATE_DIR, names)


def _lomiri() -> Iterator[Photo]:
    yield from _files("lomiri-wallpapers", _LOMIRI_DIR, _LOMIRI)


def _opencv() -> Iterator[Photo]:
    yield from _files("opencv-doc", _OPENCV_DIR, _OPENCV)


def _gimp() -> Iterator[Photo]:
    yield from _files("gimp-help-en", _GIMP_DIR, _GIMP)


def _tuxpaint() -> Iterator[Photo]:
    yield from _files("tuxpaint-data", _TUXPAINT_DIR, _TUXPAINT)


def _scribus() -> Iterator[Photo]:
    yield from _files("scribus-template", _SCRIBUS_DIR, _SCRIBUS)


#: name -> (loader, how to install it); ``core`` ones are what CI has.
_SOURCES: dict[str, tuple[Callable[[], Iterator[Photo]], str]] = {
    "skimage": (_skimage, "pip install scikit-image"),
    "sklearn": (_sklearn, "pip install scikit-learn"),
    "pywt": (_pywt, "pip install PyWavelets"),
    "matplotlib": (_matplotlib, "pip install matplotlib"),
    "mahotas": (_mahotas, "pip install mahotas"),
    "mate": (_mate, "apt-get install mate-backgrounds"),
    "lomiri": (_lomiri, "apt-get install lomiri-wallpapers-16.04 lomiri-wallpapers-20.04"),
    "opencv": (_opencv, "apt-get install opencv-doc"),
    "gimp": (_gimp, "apt-get install gimp-help-en"),
    "tuxpaint": (_tuxpaint, "apt-get install tuxpaint-data"),
    "scribus": (_scribus, "apt-get install scribus-template"),
}
CORE = ("skimage",)


def available_sources() -> list[str]:
    """Names of the sources whose package is installed."""
    found = []
    for name in _SOURCES:
        package = {
            "skimage": "skimage",
            "sklearn": "sklearn",
            "pywt": "pywt",
            "matplotlib": "matplotlib",
            "mahotas": "mahotas",
        }.get(name)
        folder = {
            "mate": _MATE_DIR,
            "lomiri": _LOMIRI_DIR / _LOMIRI[0],
            "opencv": _OPENCV_DIR / _OPENCV[0],
            "gimp": _GIMP_DIR / _GIMP[0],
            "tuxpaint": _TUXPAINT_DIR / _TUXPAINT[0],
            "scribus": _SCRIBUS_DIR / _SCRIBUS[0],
        }.get(name)
        if (package and importlib.util.find_spec(package)) or (folder and folder.exists()):
            found.append(name)
    return found


def missing_sources() -> dict[str, str]:
    """Sources that are not installed, with the command that installs each."""
    have = set(available_sources())
    return {name: hint for name, (_, hint) in _SOURCES.items() if name not in have}


def load_photos(sources: tuple[str, ...] | list[str]) -> list[Photo]:
    """Every photograph of the named sources, in a fixed order."""
    photos: list[Photo] = []
    for name in sources:
        photos.extend(_SOURCES[name][0]())
    return photos
