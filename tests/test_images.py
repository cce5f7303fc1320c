"""Image decoding and content ids: canonical modes, stable ids, clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from curator.errors import ImageError
from curator.hashing import pixel_id
from curator.images import decode_bytes, encode_png, from_array


def _encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_same_pixels_same_id_across_lossless_formats():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    ids = {decode_bytes(_encode(rgb, fmt), where=fmt).sample_id for fmt in ("PNG", "BMP", "TIFF")}
    assert ids == {pixel_id(rgb, "RGB")}
    other = rgb.copy()
    other[0, 0, 0] ^= 1
    assert pixel_id(other, "RGB") != pixel_id(rgb, "RGB")
    assert pixel_id(rgb[..., 0], "L") != pixel_id(rgb[..., 0].copy().reshape(7, 9), "L")


def test_png_round_trip_and_deterministic_bytes():
    for arr, mode in [(np.arange(12, dtype=np.uint8).reshape(3, 4), "L"),
                      (np.arange(48, dtype=np.uint8).reshape(3, 4, 4), "RGBA"),
                      (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000, "I;16")]:
        png = encode_png(arr, mode)
        assert png == encode_png(arr.copy(), mode)
        back = decode_bytes(png, where="x")
        assert back.mode == mode
        np.testing.assert_array_equal(back.pixels, arr)


def test_palette_and_bilevel_images_are_normalised():
    pal = Image.fromarray(np.array([[0, 1], [2, 3]], np.uint8), mode="L").convert("P")
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    assert decode_bytes(buf.getvalue(), where="p").mode == "RGB"
    buf = io.BytesIO()
    Image.new("1", (4, 4), 1).save(buf, format="PNG")
    decoded = decode_bytes(buf.getvalue(), where="b")
    assert decoded.mode == "L" and decoded.pixels.max() == 255


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "corrupt_image"), (b"hello, not an image", "not_an_image")],
)
def test_bad_bytes_give_reasons(data, reason):
    with pytest.raises(ImageError) as info:
        decode_bytes(data, where="item.png")
    assert info.value.reason == reason and "item.png" in str(info.value)


def test_truncated_png_is_corrupt():
    png = _encode(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8), "PNG")
    with pytest.raises(ImageError, match="corrupt or truncated") as info:
        decode_bytes(png[: len(png) // 2], where="half.png")
    assert info.value.reason == "corrupt_image"


def test_pixel_budget_refuses_before_decoding():
    png = _encode(np.zeros((50, 50), np.uint8), "PNG")
    with pytest.raises(ImageError, match="2,499 pixels") as info:
        decode_bytes(png, where="big.png", max_pixels=2499)
    assert info.value.reason == "too_large"
    assert decode_bytes(png, where="ok.png", max_pixels=2500).width == 50


def test_from_array_checks_shape_and_dtype():
    assert from_array(np.zeros((2, 3), np.uint8)).mode == "L"
    assert from_array(np.zeros((2, 3, 3), np.uint8)).mode == "RGB"
    with pytest.raises(ImageError, match="cannot interpret"):
        from_array(np.zeros((2, 3), np.float32))
