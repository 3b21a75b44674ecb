"""Photo folders that survive real life: checked files and a streaming input pipeline.

Real photo folders hold broken files: empty ones, downloads cut short, a web page saved
as ``.jpg``, a PNG renamed to ``.jpg``. TensorFlow lists them without complaint and
crashes on them in the middle of training. So:

- ``check_photos`` opens every file with Pillow and decodes it in full; the files that
  fail are skipped and named, all together, in one warning. Nothing is deleted.
- ``photo_dataset`` streams the checked photos from disk with ``tf.data``: decode and
  resize in parallel, keep the small resized photos in a cache *file*, shuffle within a
  bounded buffer, batch, prefetch. Its memory does not grow with the number of photos.
- ``load_photos_in_memory`` is the other way, the one the cats-vs-dogs lab starts from:
  every photo decoded with Pillow into one numpy array. It is simple, and its memory
  grows with every photo (``benchmarks/photo_memory.py`` measures both).

``cats_and_dogs_photos`` puts ``cnnbook.data.cats_and_dogs_files`` and the check together.
"""

from __future__ import annotations

import collections
import shutil
import tempfile
import uuid
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnnbook.data import CATS_AND_DOGS_CLASSES, cats_and_dogs_files

if TYPE_CHECKING:
    import tensorflow as tf
    from numpy.typing import ArrayLike
    from PIL.Image import Image as PILImage

#: The file formats the pipeline decodes, by file-name suffix (Pillow's format names).
#: A multi-frame JPEG ("MPO", as phones save them) is a JPEG whose first frame
#: TensorFlow's decoder reads, so it is accepted as one.
PHOTO_FORMATS = {".jpg": ("JPEG", "MPO"), ".jpeg": ("JPEG", "MPO")}
#: Photos with more pixels than this are decoded at a reduced scale (JPEG's DCT scaling,
#: by 2, 4 or 8), by the check and by the pipeline, so that one huge photo does not cost
#: a gigabyte of memory; every photo is resized far below this anyway.
MAX_DECODE_PIXELS = 4096 * 4096
DEFAULT_BATCH_SIZE = 32
DEFAULT_SHUFFLE_BUFFER = 1024


class BrokenPhotosWarning(UserWarning):
    """Some photos could not be read; they were skipped (and named in the message)."""


# --------------------------------------------------------------------------- checking
def photo_problem(path: Path | str) -> str | None:
    """Why ``path`` is not a photo the pipeline can read, or ``None`` if it is fine.

    The file must be non-empty, be an image Pillow recognises, be in the format its
    suffix promises (a JPEG for ``.jpg``), and decode completely (a file cut short fails
    here, at ``.load()``, not at ``Image.open``, which reads only the header).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.is_dir():
        return "a folder, not a photo: photos in subfolders are not used (move them up)"
    expected = PHOTO_FORMATS.get(path.suffix.lower())
    if expected is None:
        return f"its suffix {path.suffix!r} is not one of {sorted(PHOTO_FORMATS)}"
    try:
        size = path.stat().st_size
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if size == 0:
        return "empty file (0 bytes)"
    try:
        # A very large photo makes Pillow warn (DecompressionBombWarning); under
        # warnings-as-errors that would raise. It is decoded at a reduced scale instead.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                found = image.format
                if found not in expected:
                    return f"a {found} image named {path.suffix} (mislabelled format)"
                _draft_if_huge(image)
                image.load()  # decodes every pixel: a file cut short fails here
    except UnidentifiedImageError:
        return "not an image (Pillow cannot identify it)"
    except Image.DecompressionBombError as error:
        return f"too large to decode safely ({error})"
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        return f"cannot be decoded ({error})"
    return None


def decode_scale(height: int, width: int, max_pixels: int = MAX_DECODE_PIXELS) -> int:
    """1, 2, 4 or 8: the smallest JPEG scale-down that brings a photo to ``max_pixels``."""
    for scale in (1, 2, 4):
        if (height // scale) * (width // scale) <= max_pixels:
            return scale
    return 8


def _draft_if_huge(image: PILImage) -> None:
    """Ask Pillow to decode a huge JPEG at a reduced scale (DCT scaling), in place."""
    width, height = image.size
    scale = decode_scale(height, width)
    if scale > 1 and image.format in ("JPEG", "MPO"):
        image.draft("RGB", (width // scale, height // scale))


@dataclass(frozen=True)
class PhotoCheck:
    """The outcome of ``check_photos``: the good paths and the broken ones, with reasons."""

    good: list[Path]
    broken: dict[Path, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """One message naming every broken file and why; empty if there is none."""
        if not self.broken:
            return ""
        total = len(self.good) + len(self.broken)
        lines = [f"  {path}: {reason}" for path, reason in self.broken.items()]
        return (
            f"Skipped {len(self.broken)} of {total} photos that cannot be used (the files "
            "were left in place):\n" + "\n".join(lines)
        )


def check_photos(paths: Sequence[Path | str] | Path | str, warn: bool = True) -> PhotoCheck:
    """Check every photo; return the good ones and the broken ones with reasons.

    ``paths`` is a list of paths, or one path. If any is broken and ``warn`` is true, one
    ``BrokenPhotosWarning`` names them all. No file is changed, moved or deleted.
    """
    if isinstance(paths, (str, Path)):  # one path, not a sequence of characters
        paths = [paths]
    good: list[Path] = []
    broken: dict[Path, str] = {}
    for path in map(Path, paths):
        problem = photo_problem(path)
        if problem is None:
            good.append(path)
        else:
            broken[path] = problem
    check = PhotoCheck(good=good, broken=broken)
    if broken and warn:
        warnings.warn(check.message, BrokenPhotosWarning, stacklevel=2)
    return check


# --------------------------------------------------------------------------- shapes
def photo_shape(path: Path | str) -> tuple[int, int]:
    """(height, width) of a photo, from its header only (fast)."""
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    return height, width


def most_common_shape(
    paths: Sequence[Path | str], sample_size: int = 200, seed: int = 0
) -> tuple[int, int]:
    """The most common (height, width) among ``sample_size`` photos drawn at random."""
    if len(paths) == 0:
        raise ValueError("no photos given: cannot find their most common shape")
    if sample_size < 1:
        raise ValueError(f"sample_size must be at least 1, not {sample_size}")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(paths), size=min(sample_size, len(paths)), replace=False)
    counts = collections.Counter(photo_shape(paths[i]) for i in sorted(chosen))
    return counts.most_common(1)[0][0]


def scaled_shape(shape: tuple[int, int], factor: int = 4) -> tuple[int, int]:
    """``shape`` divided by ``factor`` and rounded: (375, 500) -> (94, 125) for 4."""
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be (height, width) with both positive, not {shape}")
    if factor < 1:
        raise ValueError(f"factor must be at least 1, not {factor}")
    height, width = shape
    return max(1, round(height / factor)), max(1, round(width / factor))


# --------------------------------------------------------------------------- labels
def labelled_paths(
    files_by_class: Mapping[str, Sequence[Path]], classes: Sequence[str] = CATS_AND_DOGS_CLASSES
) -> tuple[list[Path], np.ndarray]:
    """All paths and their labels (the index of their class in ``classes``)."""
    unknown = set(files_by_class) - set(classes)
    if unknown:
        raise ValueError(f"classes {sorted(unknown)} are not among {list(classes)}")
    paths: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        found = list(files_by_class.get(name, []))
        paths += found
        labels += [index] * len(found)
    return paths, np.asarray(labels, dtype=np.int64)


def shuffled(
    paths: Sequence[Path], labels: np.ndarray, seed: int = 0
) -> tuple[list[Path], np.ndarray]:
    """Paths and labels in the same random order."""
    _check_pairs(paths, labels)
    order = np.random.default_rng(seed).permutation(len(paths))
    return [paths[i] for i in order], np.asarray(labels)[order]


def _check_pairs(paths: Sequence[object], labels: ArrayLike) -> None:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(paths) != labels.shape[0]:
        raise ValueError(
            f"need one label per path: got {len(paths)} paths and labels of shape {labels.shape}"
        )


@dataclass(frozen=True)
class LabelledPhotos:
    """Checked, shuffled photo paths with their 0/1 labels (0 = cat, 1 = dog)."""

    paths: list[Path]
    labels: np.ndarray
    check: PhotoCheck

    def __len__(self) -> int:
        return len(self.paths)

    def head(self, count: int) -> LabelledPhotos:
        """The first ``count`` photos (they are already shuffled: a random sample)."""
        return LabelledPhotos(self.paths[:count], self.labels[:count], self.check)


def cats_and_dogs_photos(
    split: str = "train", limit: int | None = None, seed: int = 0, warn: bool = True
) -> LabelledPhotos:
    """The checked photos of one split, shuffled, labelled 0 for cats and 1 for dogs.

    ``split`` is ``"train"``, ``"validation"`` or ``"test"`` (a ``test/`` folder if the
    data has one, else the half of the validation photos ``cnnbook.data`` sets aside).

    ``limit`` keeps a random sample of that many *before* checking (quick mode checks
    only what it uses). Broken files are skipped and named in one warning.
    """
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0
    ):
        raise ValueError(f"limit must be None (all photos) or a whole number >= 0, not {limit!r}")
    paths, labels = shuffled(*labelled_paths(cats_and_dogs_files(split)), seed=seed)
    if limit is not None:
        paths, labels = paths[:limit], labels[:limit]
    check = check_photos(paths, warn=False)
    if check.broken and warn:
        warnings.warn(check.message, BrokenPhotosWarning, stacklevel=2)
    keep = np.array([path not in check.broken for path in paths], dtype=bool)
    return LabelledPhotos([p for p, k in zip(paths, keep) if k], labels[keep], check)


# --------------------------------------------------------------------------- in memory
def load_photo(path: Path | str, image_shape: tuple[int, int]) -> np.ndarray:
    """One photo as float32 RGB in [0, 1], resized to ``image_shape`` = (height, width)."""
    from PIL import Image

    height, width = image_shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            _draft_if_huge(image)
            image = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.float32) / 255.0


def load_photos_in_memory(paths: Sequence[Path | str], image_shape: tuple[int, int]) -> np.ndarray:
    """All photos in one float32 array (N, height, width, 3): simple, memory grows with N."""
    if len(paths) == 0:
        raise ValueError("no photos given")
    return np.stack([load_photo(path, image_shape) for path in paths])


# --------------------------------------------------------------------------- streaming
#: How a photo of another shape is brought to the network's shape: ``stretch`` (resize
#: both sides, distorting the proportions), ``crop`` (scale to cover, cut the centre) or
#: ``pad`` (scale to fit, black bars: ``tf.image.resize_with_pad``).
RESIZE_MODES = ("stretch", "crop", "pad")


def _check_resize(resize: str) -> None:
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}, not {resize!r}")


def resize_photo(
    image: tf.Tensor, image_shape: tuple[int, int], resize: str = "stretch"
) -> tf.Tensor:
    """Bring a decoded (H, W, 3) photo to ``image_shape`` by stretching, cropping or padding.

    All three resize with antialiasing (bilinear), which matches Pillow's bilinear resize.
    """
    import tensorflow as tf

    _check_resize(resize)
    height, width = image_shape
    if resize == "stretch":
        return tf.image.resize(image, image_shape, method="bilinear", antialias=True)
    if resize == "pad":
        return tf.image.resize_with_pad(
            tf.cast(image, tf.float32), height, width, method="bilinear", antialias=True
        )
    sides = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.reduce_max(tf.constant([height, width], tf.float32) / sides)
    covering = tf.cast(tf.math.ceil(sides * scale), tf.int32)
    image = tf.image.resize(image, covering, method="bilinear", antialias=True)
    return tf.image.resize_with_crop_or_pad(image, height, width)  # the centre


def decode_and_resize(
    path: tf.Tensor | str, image_shape: tuple[int, int], resize: str = "stretch"
) -> tf.Tensor:
    """A ``tf.data`` step: read a JPEG file, decode it to RGB, resize it, as uint8.

    Resizing with antialiasing matches Pillow's bilinear resize (to within rounding).
    The result stays uint8 (a quarter of float32's bytes) so the cache file stays small.
    A photo of more than ``MAX_DECODE_PIXELS`` is decoded at a reduced scale (by 2, 4 or
    8), so a 12000 x 12000 photo costs tens of megabytes, not a gigabyte. ``resize``
    is one of ``RESIZE_MODES`` (stretch, the default; crop; pad).
    """
    import tensorflow as tf

    image = resize_photo(decode_jpeg_capped(tf.io.read_file(path)), image_shape, resize)
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


def decode_jpeg_capped(contents: tf.Tensor, max_pixels: int = MAX_DECODE_PIXELS) -> tf.Tensor:
    """``tf.io.decode_jpeg`` to RGB, at the scale ``decode_scale`` picks from the header."""
    import tensorflow as tf

    shape = tf.cast(tf.io.extract_jpeg_shape(contents), tf.int64)
    height, width = shape[0], shape[1]
    branch = tf.constant(0, tf.int32)
    for index, scale in enumerate((1, 2, 4), start=1):
        too_big = (height // scale) * (width // scale) > max_pixels
        branch = tf.where(too_big, tf.constant(index, tf.int32), branch)
    return tf.switch_case(
        branch,
        [
            lambda ratio=ratio: tf.io.decode_jpeg(contents, channels=3, ratio=ratio)
            for ratio in (1, 2, 4, 8)
        ],
    )


def to_unit_float(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """uint8 images to float32 in [0, 1]; labels to float32 (what a sigmoid output wants)."""
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 255.0, tf.cast(labels, tf.float32)


def photo_dataset(
    paths: Sequence[Path | str],
    labels: ArrayLike,
    image_shape: tuple[int, int],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    shuffle: bool = False,
    seed: int = 0,
    cache_dir: Path | str | None = None,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    resize: str = "stretch",
) -> tf.data.Dataset:
    """A ``tf.data.Dataset`` of (images, labels) batches streamed from the photo files.

    paths -> decode and resize (in parallel) -> cache to a file -> shuffle (bounded
    buffer) -> batch -> scale to [0, 1] -> prefetch. The first pass decodes the photos
    and writes the small resized copies to a cache file in ``cache_dir`` (a new
    temporary folder if ``None``, removed when the dataset is garbage collected); later
    passes read that file. Memory holds at most ``shuffle_buffer`` small photos and a few
    batches, however many photos there are. Give it checked paths (``check_photos``).
    Every argument is checked before the temporary folder is made, and the folder is
    removed again if building the pipeline fails. ``resize`` says how a photo of
    another shape is fitted (``RESIZE_MODES``: stretch, crop or pad).
    """
    _check_pairs(paths, labels)
    _check_resize(resize)
    if len(paths) == 0:
        raise ValueError("no photos given: check that the folder holds readable photos")
    for name, value in (("batch_size", batch_size), ("shuffle_buffer", shuffle_buffer)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    try:
        height, width = (int(side) for side in image_shape)
    except (TypeError, ValueError):
        height = width = 0
    if min(height, width) < 1:
        raise ValueError(f"image_shape must be (height, width), not {image_shape}")
    image_shape = (height, width)
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"labels must be whole numbers (0 = cat, 1 = dog): {error}") from None
    path_names = [str(path) for path in paths]
    # Only now, with every argument checked, make the temporary folder (if ours).
    owned_dir = cache_dir is None
    cache_dir = Path(tempfile.mkdtemp(prefix="cnnbook-photos-") if cache_dir is None else cache_dir)
    try:
        return _streaming_pipeline(
            path_names,
            labels,
            image_shape,
            batch_size,
            shuffle,
            seed,
            cache_dir,
            shuffle_buffer,
            owned_dir,
            resize,
        )
    except BaseException:
        if owned_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)
        raise


def _streaming_pipeline(
    path_names: list[str],
    labels: np.ndarray,
    image_shape: tuple[int, int],
    batch_size: int,
    shuffle: bool,
    seed: int,
    cache_dir: Path,
    shuffle_buffer: int,
    owned_dir: bool,
    resize: str,
) -> tf.data.Dataset:
    import tensorflow as tf

    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_file = str(cache_dir / f"photos-{uuid.uuid4().hex}")
    dataset = tf.data.Dataset.from_tensor_slices((path_names, labels))
    dataset = dataset.map(
        lambda path, label: (decode_and_resize(path, image_shape, resize), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    dataset = dataset.cache(cache_file)
    if shuffle:
        dataset = dataset.shuffle(
            min(shuffle_buffer, len(path_names)), seed=seed, reshuffle_each_iteration=True
        )
    dataset = dataset.batch(batch_size).map(to_unit_float, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    if owned_dir:
        weakref.finalize(dataset, shutil.rmtree, cache_dir, ignore_errors=True)
    return dataset
