"""Image decoding, validation and canonical encoding.

Decodes files or bytes with Pillow under a pixel budget (decompression-bomb guard), normalises
the mode, and encodes canonical PNG bytes; a decoded image knows its own content id.
"""

from __future__ import annotations

import io
import warnings
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from curator.errors import ImageError
from curator.hashing import pixel_id

#: Default decoding budget; ~16k x 16k RGB. Larger files are refused, not decoded.
DEFAULT_MAX_PIXELS = 256_000_000

# Pillow modes we do not store, and the canonical mode each is converted to.
_MODE_MAP = {"1": "L", "F": "L", "PA": "RGBA", "La": "LA", "RGBa": "RGBA"}


@dataclass(frozen=True)
class DecodedImage:
    """Pixels of one image in a canonical mode, plus the original file bytes if any."""

    pixels: np.ndarray
    mode: str
    original_bytes: bytes | None = None
    original_format: str | None = None

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @cached_property
    def sample_id(self) -> str:
        return pixel_id(self.pixels, self.mode)

    @cached_property
    def png_bytes(self) -> bytes:
        return encode_png(self.pixels, self.mode)


def _canonical(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA", "I;16"):
        return img
    if mode == "P":
        return img.convert("RGBA" if "transparency" in img.info else "RGB")
    if mode.startswith("I;16"):
        return img.convert("I;16")
    if mode == "I":
        arr = np.asarray(img)
        return Image.fromarray(np.clip(arr, 0, 65535).astype(np.uint16), mode="I;16")
    target = _MODE_MAP.get(mode, "RGB")
    return img.convert(target)


def _to_array(img: Image.Image) -> tuple[np.ndarray, str]:
    img = _canonical(img)
    arr = np.asarray(img)
    if img.mode == "I;16":
        arr = arr.astype("<u2", copy=False)
    return np.ascontiguousarray(arr), img.mode


def _allow_pillow(max_pixels: int) -> None:
    """Let Pillow open images up to our own limit (its default guard is ~89M pixels).

    Pillow's guard is a process-wide setting; it is only ever raised here, never lowered,
    and :func:`_check_size` applies the caller's limit to every image before decoding.
    """
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels


def _check_size(img: Image.Image, where: str, max_pixels: int) -> None:
    """Refuse an opened (not yet loaded) image with more than ``max_pixels`` pixels."""
    width, height = img.size
    if width * height > max_pixels:
        raise ImageError(
            f"{where}: {width}x{height} exceeds the decoding limit of "
            f"{max_pixels:,} pixels (possible decompression bomb); raise "
            "max_pixels if the image is genuine", reason="too_large"
        )


def decode_bytes(data: bytes, *, where: str, max_pixels: int = DEFAULT_MAX_PIXELS,
                 keep_palette: bool = False) -> DecodedImage:
    """Decode image ``data``; ``where`` names the item in error messages.

    With ``keep_palette``, a palette (``P``) image yields its indices as ``L`` pixels
    instead of being converted to colours (label masks store class ids that way).
    """
    if not data:
        raise ImageError(f"{where}: file is empty", reason="corrupt_image")
    _allow_pillow(max_pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as img:
                _check_size(img, where, max_pixels)
                fmt = img.format
                img.load()
                if keep_palette and img.mode == "P":
                    pixels, mode = np.ascontiguousarray(np.asarray(img)), "L"
                else:
                    pixels, mode = _to_array(img)
        except ImageError:
            raise
        except UnidentifiedImageError:
            raise ImageError(f"{where}: not an image (no known image format)",
                             reason="not_an_image") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(f"{where}: refused as a possible decompression bomb ({exc})",
                             reason="too_large") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageError(f"{where}: corrupt or truncated image ({exc})") from None
    return DecodedImage(pixels=pixels, mode=mode, original_bytes=data, original_format=fmt)


def _read(path: Path, where: str, what: str) -> bytes:
    missing = "missing_file" if what == "image" else f"missing_{what}"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{where}: {what} file not found", reason=missing) from None
    except IsADirectoryError:
        raise ImageError(f"{where}: is a directory, not an {what} file",
                         reason="not_an_image") from None
    except OSError as exc:
        raise ImageError(f"{where}: {what} cannot be read ({exc.strerror})",
                         reason=missing) from None


def decode_file(path: Path, *, where: str | None = None,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Read and decode the image at ``path``."""
    where = where or str(path)
    return decode_bytes(_read(path, where, "image"), where=where, max_pixels=max_pixels)


def from_array(pixels: np.ndarray, mode: str | None = None) -> DecodedImage:
    """Wrap an in-memory uint8/uint16 array (H×W, H×W×3 or H×W×4) as a decoded image."""
    arr = np.ascontiguousarray(pixels)
    if mode is None:
        mode = {2: "L", 3: {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(arr.shape[-1])}.get(arr.ndim)
        if arr.ndim == 2 and arr.dtype == np.uint16:
            mode = "I;16"
    if mode is None or arr.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"cannot interpret array of shape {arr.shape} and dtype {arr.dtype} "
                         "as an image; expected uint8 HxW, HxWx3 or HxWx4")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return DecodedImage(pixels=arr, mode=mode)


DIGITS_LEVELS = 16  # scikit-learn's digits take values 0..16


def digits_to_uint8(images: np.ndarray) -> np.ndarray:
    """Scale scikit-learn digit intensities 0..16 to 0..255 grey (rounded).

    Real digits are stored this way, and the ``digits3d`` generator quantises to the same
    17 values, so real and synthetic share one pixel format.
    """
    return np.round(np.asarray(images, dtype=np.float64) * (255.0 / DIGITS_LEVELS)).astype(np.uint8)


def encode_png(pixels: np.ndarray, mode: str, *, compress_level: int = 6,
               rle: bool = False) -> bytes:
    """Encode pixels as PNG with fixed settings so equal pixels give equal bytes.

    ``compress_level`` (0-9) trades size for speed; label maps use 1 (they compress well).
    ``rle`` uses zlib's run-length strategy: for rendered images (sensor noise, smooth
    shading) it measured both faster and smaller than the default at level 1.
    """
    # Pillow infers L/LA/RGB/RGBA/I;16 from the array's shape and dtype.
    img = Image.fromarray(pixels.astype("<u2") if mode == "I;16" else pixels)
    if img.mode != mode:
        raise ImageError(f"pixels of shape {pixels.shape} do not match mode {mode!r}")
    buf = io.BytesIO()
    options = {"compress_type": zlib.Z_RLE} if rle else {}
    img.save(buf, format="PNG", compress_level=compress_level, optimize=False, **options)
    return buf.getvalue()


def decode_mask_file(path: Path, *, where: str | None = None,
                     max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode a label mask: palette indices, 8/16-bit grey, or grey stored as RGB(A).

    Unlike :func:`decode_file`, a palette (``P``) image keeps its indices, which are the
    class ids in VOC-style masks, instead of being converted to colours.
    """
    where = where or str(path)
    data = _read(path, where, "mask")
    decoded = decode_bytes(data, where=where, max_pixels=max_pixels, keep_palette=True)
    pixels = decoded.pixels
    if decoded.mode in ("RGB", "RGBA"):
        rgb = pixels[..., :3]
        if not (np.array_equal(rgb[..., 0], rgb[..., 1])
                and np.array_equal(rgb[..., 0], rgb[..., 2])):
            raise ImageError(
                f"{where}: mask has colour pixels; store class or instance ids as a "
                "single-channel (L, P or 16-bit) PNG", reason="bad_mask")
        return DecodedImage(np.ascontiguousarray(rgb[..., 0]), "L", data, decoded.original_format)
    if decoded.mode == "LA":
        return DecodedImage(np.ascontiguousarray(pixels[..., 0]), "L", data,
                            decoded.original_format)
    return decoded
