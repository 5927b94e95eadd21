"""Fuzz: sensor_msgs/Image and CompressedImage decoding ends in an image or a MessageError, nothing else.

Extends the geometry properties of tests/ros/test_conversions.py to every
reader (``image_to_array``, ``to_color8``, ``to_rgb8``, ``to_mono``,
``to_thermal_float``), every data container a message source produces
(bytes, bytearray, array.array, NumPy arrays of any dtype, lists, memoryviews),
field values of the wrong type, and to compressed images: random bytes, bit
flips and truncations of real PNG/JPEG files, and headers claiming any size.
"""

from __future__ import annotations

import array
import struct
import zlib
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.robust.fuzzing import fuzz
from thermal_synth_core import imagemsg
from thermal_synth_core.errors import MessageError

pytestmark = pytest.mark.timeout(120)

ENCODINGS = [*imagemsg.COLOR_ENCODINGS, "32FC1"]
READERS = {
    "image_to_array": lambda m: imagemsg.image_to_array(m)[0],
    "to_color8": lambda m: imagemsg.to_color8(m)[0],
    "to_rgb8": imagemsg.to_rgb8,
    "to_mono": imagemsg.to_mono,
    "to_thermal_float": imagemsg.to_thermal_float,
}


def _container(raw: bytes, kind: str) -> Any:
    if kind == "bytes":
        return raw
    if kind == "bytearray":
        return bytearray(raw)
    if kind == "array":  # what rclpy messages hold
        return array.array("B", raw)
    if kind == "list":
        return list(raw)
    if kind == "memoryview":
        return memoryview(raw)
    if kind == "uint8":  # what rosbags messages hold
        return np.frombuffer(raw, np.uint8).copy()
    if kind == "uint16" and len(raw) % 2 == 0:
        return np.frombuffer(raw, np.uint16).copy()
    if kind == "strided":
        return np.frombuffer(raw + raw, np.uint8)[::2].copy() if raw else np.zeros(0, np.uint8)
    return raw


@st.composite
def image_messages(draw: st.DrawFn) -> SimpleNamespace:
    """Plausible and implausible Image headers with data of a matching, near or arbitrary length."""
    encoding = draw(st.one_of(st.sampled_from(ENCODINGS), st.text(max_size=12)))
    small = st.integers(-2, 24)
    huge = st.integers(-(2**40), 2**40)
    height = draw(st.one_of(small, small, small, huge))
    width = draw(st.one_of(small, small, small, huge))
    bpp = imagemsg.encoding_info(encoding).bytes_per_pixel if encoding in ENCODINGS else draw(st.integers(1, 8))
    step = draw(
        st.one_of(
            st.just(max(width, 0) * bpp),
            st.integers(0, 16).map(lambda pad: max(width, 0) * bpp + pad),
            st.integers(-4, 200),
            huge,
        )
    )
    exact = max(height, 0) * max(step, 0)
    if exact <= 20_000:
        length = draw(st.one_of(st.just(exact), st.integers(max(exact - 8, 0), exact + 8), st.integers(0, 600)))
    else:
        length = draw(st.integers(0, 600))
    raw = draw(st.binary(min_size=length, max_size=length)) if length <= 64 else bytes(length)
    kind = draw(st.sampled_from(["bytes", "bytearray", "array", "list", "memoryview", "uint8", "uint16", "strided"]))
    bigendian = draw(st.one_of(st.booleans(), st.integers(0, 255)))
    return SimpleNamespace(
        height=height, width=width, step=step, encoding=encoding, is_bigendian=bigendian, data=_container(raw, kind)
    )


def _check_image(out: Any, msg: SimpleNamespace) -> None:
    assert isinstance(out, np.ndarray)
    assert out.shape[:2] == (msg.height, msg.width)
    assert msg.height <= imagemsg.MAX_SIDE
    assert msg.width <= imagemsg.MAX_SIDE


@pytest.mark.parametrize("reader", list(READERS))
@fuzz(60)
@given(msg=image_messages())
def test_any_image_header_gives_an_image_or_a_message_error(reader: str, msg: SimpleNamespace) -> None:
    try:
        out = READERS[reader](msg)
    except MessageError:
        return
    _check_image(out, msg)
    if reader in ("to_color8", "to_rgb8"):
        assert out.dtype == np.uint8
        assert out.shape[2] == 3
    if reader == "to_thermal_float":
        assert out.dtype == np.float32


@fuzz(40)
@given(
    field=st.sampled_from(["height", "width", "step", "data", "encoding", "is_bigendian"]),
    value=st.one_of(
        st.none(),
        st.text(max_size=8),
        st.floats(allow_nan=True),
        st.lists(st.integers(-1000, 1000), max_size=40),
        st.binary(max_size=40),
        st.just(object()),
    ),
)
def test_fields_of_the_wrong_type_are_message_errors(field: str, value: Any) -> None:
    """Hand-built or foreign messages: a field of another type is a bad message, never a crash."""
    good = np.arange(4 * 3 * 3, dtype=np.uint8).tobytes()
    msg = SimpleNamespace(height=4, width=3, step=9, encoding="rgb8", is_bigendian=0, data=good)
    setattr(msg, field, value)
    try:
        out = imagemsg.to_rgb8(msg)
    except MessageError:
        return
    assert out.shape == (4, 3, 3)


# -- compressed images ------------------------------------------------------------------------


def _encoded(ext: str, image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


_rng = np.random.default_rng(9)
SEEDS = {
    "png-rgb": _encoded(".png", _rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)),
    "png-gray16": _encoded(".png", _rng.integers(0, 65536, (12, 16), dtype=np.uint16)),
    "png-rgba": _encoded(".png", _rng.integers(0, 256, (9, 7, 4), dtype=np.uint8)),
    "jpeg-rgb": _encoded(".jpg", _rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)),
    "jpeg-gray": _encoded(".jpg", _rng.integers(0, 256, (8, 8), dtype=np.uint8)),
}
DECODERS = {
    "compressed_to_color8": lambda m: imagemsg.compressed_to_color8(m)[0],
    "compressed_to_mono": imagemsg.compressed_to_mono,
}


@st.composite
def compressed_payloads(draw: st.DrawFn) -> bytes:
    """Random bytes, or a real PNG/JPEG with bit flips, overwritten runs, truncation or appended junk."""
    if draw(st.integers(0, 4)) == 0:
        prefix = draw(st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff\xe0"]))
        return prefix + draw(st.binary(max_size=300))
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "overwrite", "truncate", "append"]))
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[pos : pos + len(chunk)] = chunk
        elif op == "truncate":
            del data[pos:]
        else:
            data += draw(st.binary(max_size=32))
    return bytes(data)


def _check_decoded(out: Any) -> None:
    assert isinstance(out, np.ndarray)
    assert out.ndim in (2, 3)
    assert 0 < out.shape[0] <= imagemsg.MAX_SIDE
    assert 0 < out.shape[1] <= imagemsg.MAX_SIDE


@pytest.mark.parametrize("decoder", list(DECODERS))
@fuzz(80)
@given(
    payload=compressed_payloads(),
    fmt=st.one_of(st.sampled_from(["jpeg", "png", "rgb8; jpeg compressed bgr8"]), st.text(max_size=10)),
)
def test_any_compressed_payload_gives_an_image_or_a_message_error(decoder: str, payload: bytes, fmt: str) -> None:
    msg = SimpleNamespace(format=fmt, data=payload)
    try:
        out = DECODERS[decoder](msg)
    except MessageError:
        return
    _check_decoded(out)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_claiming(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with one tiny row of (invalid-length) pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 16x16 JPEG whose frame header is patched to claim ``width`` x ``height``."""
    data = bytearray(SEEDS["jpeg-rgb"])
    sof = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2))
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize("decoder", list(DECODERS))
@fuzz(40)
@given(
    width=st.one_of(st.integers(0, 70_000), st.integers(0, 2**32 - 1)),
    height=st.one_of(st.integers(0, 70_000), st.integers(0, 2**32 - 1)),
    kind=st.sampled_from(["png", "png16", "jpeg"]),
)
def test_headers_claiming_any_size_are_checked_before_decoding(
    decoder: str, width: int, height: int, kind: str
) -> None:
    """The size comes from the header: absurd claims are refused without decoding (see test_memory_bombs)."""
    if kind == "jpeg":
        payload = jpeg_claiming(min(width, 65535), min(height, 65535))
        width, height = min(width, 65535), min(height, 65535)
    else:
        payload = png_claiming(width, height, depth=16 if kind == "png16" else 8)
    if width > imagemsg.MAX_SIDE or height > imagemsg.MAX_SIDE or 0 in (width, height):
        with pytest.raises(MessageError, match=r"absurdly large|zero size"):
            DECODERS[decoder](SimpleNamespace(format=kind, data=payload))
        return
    try:
        out = DECODERS[decoder](SimpleNamespace(format=kind, data=payload))
    except MessageError:
        return
    _check_decoded(out)
