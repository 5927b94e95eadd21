"""Message <-> array conversion: every encoding, padding, byte order, and every malformed case."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ros.images import (
    ALL_COLOR_ENCODINGS,
    encode_pixels,
    expected_rgb,
    fake_image,
    fields,
    rclpy_image,
    reference_rgb,
)
from thermal_synth_core.errors import MessageError
from thermal_synth_ros import conversions as conv

RGB = reference_rgb(48, 64)


def _assert_close(got: np.ndarray, want: np.ndarray, tol: int, border: int) -> None:
    assert got.shape == want.shape
    assert got.dtype == np.uint8
    if border:
        got, want = got[border:-border, border:-border], want[border:-border, border:-border]
    diff = int(np.abs(got.astype(int) - want.astype(int)).max())
    assert diff <= tol, f"max abs difference {diff} > {tol}"


def test_every_supported_colour_encoding_is_covered() -> None:
    assert set(ALL_COLOR_ENCODINGS) == set(conv.COLOR_ENCODINGS)


@pytest.mark.parametrize("encoding", ALL_COLOR_ENCODINGS)
@pytest.mark.parametrize("pad", [0, 6], ids=["packed", "padded"])
def test_to_rgb8_decodes_every_encoding(encoding: str, pad: int) -> None:
    want, tol, border = expected_rgb(RGB, encoding)
    got = conv.to_rgb8(fake_image(RGB, encoding, pad=pad))
    _assert_close(got, want, tol, border)


@pytest.mark.parametrize("encoding", [e for e in ALL_COLOR_ENCODINGS if "16" in e])
def test_big_endian_16_bit_encodings(encoding: str) -> None:
    want, tol, border = expected_rgb(RGB, encoding)
    little = conv.to_rgb8(fake_image(RGB, encoding))
    big = conv.to_rgb8(fake_image(RGB, encoding, bigendian=True, pad=2))
    np.testing.assert_array_equal(little, big)
    _assert_close(big, want, tol, border)


@pytest.mark.parametrize("encoding", ALL_COLOR_ENCODINGS)
def test_rclpy_and_rosbags_messages_work_by_duck_typing(encoding: str) -> None:
    pytest.importorskip("sensor_msgs.msg")
    from rosbags.typesys import Stores, get_typestore

    want = conv.to_rgb8(fake_image(RGB, encoding, pad=4))
    np.testing.assert_array_equal(conv.to_rgb8(rclpy_image(RGB, encoding, pad=4)), want)

    store = get_typestore(Stores.ROS2_KILTED)
    f = fields(encode_pixels(RGB, encoding), encoding, pad=4)
    header = store.types["std_msgs/msg/Header"](
        stamp=store.types["builtin_interfaces/msg/Time"](sec=1, nanosec=2), frame_id="cam"
    )
    msg = store.types["sensor_msgs/msg/Image"](
        header=header,
        height=f["height"],
        width=f["width"],
        encoding=encoding,
        is_bigendian=0,
        step=f["step"],
        data=np.frombuffer(f["data"], np.uint8),
    )
    np.testing.assert_array_equal(conv.to_rgb8(msg), want)


def test_to_color8_avoids_the_channel_swap_for_bgr_cameras() -> None:
    a, order = conv.to_color8(fake_image(RGB, "bgr8"))
    assert order == "bgr"
    np.testing.assert_array_equal(a[:, :, ::-1], RGB)
    a, order = conv.to_color8(fake_image(RGB, "rgba8"))
    assert order == "rgb"
    np.testing.assert_array_equal(a, RGB)


def test_bayer_patterns_reproduce_a_known_colour() -> None:
    # A solid colour: any mix-up of the four patterns shows as swapped channels.
    solid = np.zeros((16, 16, 3), np.uint8)
    solid[:] = (200, 90, 20)
    for pattern in ("rggb", "bggr", "gbrg", "grbg"):
        got = conv.to_rgb8(fake_image(solid, f"bayer_{pattern}8"))
        np.testing.assert_allclose(got[2:-2, 2:-2].reshape(-1, 3).mean(axis=0), (200, 90, 20), atol=1)


THERMAL = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 13 % 16384).astype(np.uint16)


@pytest.mark.parametrize(
    ("encoding", "pixels"),
    [
        ("mono8", (THERMAL >> 6).astype(np.uint8)),
        ("8UC1", (THERMAL >> 6).astype(np.uint8)),
        ("mono16", THERMAL),
        ("16UC1", THERMAL),
        ("32FC1", THERMAL.astype(np.float32) / 100.0 - 20.0),
    ],
)
@pytest.mark.parametrize("bigendian", [False, True], ids=["le", "be"])
def test_thermal_encodings_keep_their_values(encoding: str, pixels: np.ndarray, bigendian: bool) -> None:
    msg = SimpleNamespace(**fields(pixels, encoding, pad=3, bigendian=bigendian))
    mono = conv.to_mono(msg)
    assert mono.dtype == pixels.dtype
    assert mono.dtype.isnative
    np.testing.assert_array_equal(mono, pixels)
    f = conv.to_thermal_float(msg)
    assert f.dtype == np.float32
    np.testing.assert_allclose(f, pixels.astype(np.float32))


def _jpeg(image: np.ndarray, ext: str = ".jpg") -> SimpleNamespace:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return SimpleNamespace(format=ext[1:], data=buf.tobytes())


def test_compressed_jpeg_and_png_decode() -> None:
    bgr = np.ascontiguousarray(RGB[:, :, ::-1])
    img, order = conv.compressed_to_color8(_jpeg(bgr))
    assert order == "bgr"
    assert img.shape == (48, 64, 3)
    assert np.abs(img.astype(int) - bgr.astype(int)).mean() < 4
    img, _ = conv.compressed_to_color8(_jpeg(bgr, ".png"))
    np.testing.assert_array_equal(img, bgr)
    mono = conv.compressed_to_mono(_jpeg(THERMAL, ".png"))
    assert mono.dtype == np.uint16
    np.testing.assert_array_equal(mono, THERMAL)


def test_image_msg_builds_every_output_encoding_and_copies_the_header() -> None:
    pytest.importorskip("sensor_msgs.msg")
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    header = Header(stamp=Time(sec=7, nanosec=123), frame_id="camera")
    for encoding, arr in [
        ("mono8", (THERMAL >> 8).astype(np.uint8)),
        ("mono16", THERMAL),
        ("bgr8", RGB[:, :, ::-1]),  # non-contiguous view on purpose
        ("rgb8", RGB),
    ]:
        msg = conv.image_msg(np.asarray(arr), encoding, header, frame_id="thermal" if encoding == "mono16" else None)
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (7, 123)
        assert msg.header.frame_id == ("thermal" if encoding == "mono16" else "camera")
        assert msg.encoding == encoding
        assert msg.step * msg.height == len(msg.data)
        back, _ = conv.image_to_array(msg)
        np.testing.assert_array_equal(back, arr)
    assert header.frame_id == "camera", "the input header is not modified"
    assert conv.stamp_ns(header) == 7_000_000_123


def _bad(**overrides: Any) -> SimpleNamespace:
    f = fields(encode_pixels(RGB, "rgb8"), "rgb8")
    f.update(overrides)
    return SimpleNamespace(**f)


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        (_bad(encoding="rgb42"), r"unsupported image encoding 'rgb42'; supported: rgb8, bgr8"),
        (_bad(data=b"\x00" * 100), r"data has 100 bytes, expected height\*step = 48\*192 = 9216"),
        (_bad(step=100), r"step 100 is smaller than a row"),
        (_bad(width=0, step=0, data=b""), r"zero size \(0x48\)"),
        (_bad(height=0, data=b""), r"zero size \(64x0\)"),
        (_bad(height=-3), r"zero size"),
        (_bad(width=100_000), r"absurdly large \(100000x48"),
        (_bad(height=8000, step=8000 * 3 * 8), r"absurdly large \(\d+ bytes"),
        (
            SimpleNamespace(**fields(np.zeros((4, 5, 2), np.uint8), "yuv422")),
            r"width 5 must be even",
        ),
        (SimpleNamespace(**fields(np.zeros((4, 4), np.float32), "32FC1")), r"not a camera colour encoding"),
    ],
    ids=[
        "unknown-encoding",
        "short-data",
        "small-step",
        "zero-width",
        "zero-height",
        "negative-height",
        "absurd-width",
        "absurd-bytes",
        "odd-yuv",
        "float-colour",
    ],
)
def test_malformed_images_raise_one_typed_error(msg: SimpleNamespace, match: str) -> None:
    with pytest.raises(MessageError, match=match):
        conv.to_rgb8(msg)


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        (SimpleNamespace(format="jpeg", data=b""), "has no data"),
        (SimpleNamespace(format="jpeg", data=b"definitely not a jpeg"), r"cannot be decoded"),
        (SimpleNamespace(format="png", data=_jpeg(RGB).data[:40]), r"cannot be decoded"),
        (SimpleNamespace(format="16UC1; compressedDepth png", data=b"\x00" * 20), "compressedDepth"),
    ],
    ids=["empty", "garbage", "truncated", "compressed-depth"],
)
def test_bad_compressed_images_raise_one_typed_error(msg: SimpleNamespace, match: str) -> None:
    with pytest.raises(MessageError, match=match):
        conv.compressed_to_color8(msg)


def test_wrong_thermal_and_output_encodings_are_typed_errors() -> None:
    with pytest.raises(MessageError, match="rgb8 is not a thermal encoding; real thermal must be one of mono8"):
        conv.to_mono(fake_image(RGB, "rgb8"))
    with pytest.raises(MessageError, match="unsupported image encoding 'mono12'"):
        conv.to_mono(_bad(encoding="mono12"))
    pytest.importorskip("sensor_msgs.msg")
    header = SimpleNamespace(stamp=None, frame_id="x")
    with pytest.raises(MessageError, match="cannot build 'yuv422' images"):
        conv.image_msg(RGB, "yuv422", header)
    with pytest.raises(MessageError, match=r"mono16 needs a uint16 array with 1 channel\(s\), got uint8"):
        conv.image_msg(RGB[:, :, 0], "mono16", header)


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    pad=st.integers(0, 9),
    encoding=st.sampled_from(["rgb8", "bgr8", "rgba8", "mono8", "mono16", "bgr16", "16UC1"]),
    bigendian=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_direct_encodings_round_trip_for_any_geometry(
    *, height: int, width: int, pad: int, encoding: str, bigendian: bool, seed: int
) -> None:
    rgb = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    want, _, _ = expected_rgb(rgb, encoding)
    got = conv.to_rgb8(fake_image(rgb, encoding, pad=pad, bigendian=bigendian))
    np.testing.assert_array_equal(got, want)


@settings(max_examples=80, deadline=None)
@given(
    height=st.integers(-2, 20),
    width=st.integers(-2, 20),
    step=st.integers(-2, 80),
    nbytes=st.integers(0, 800),
    encoding=st.sampled_from([*conv.COLOR_ENCODINGS, "32FC1", "bogus"]),
    bigendian=st.booleans(),
)
def test_arbitrary_headers_either_convert_or_raise_message_error(
    *, height: int, width: int, step: int, nbytes: int, encoding: str, bigendian: bool
) -> None:
    msg = SimpleNamespace(
        height=height, width=width, step=step, encoding=encoding, is_bigendian=bigendian, data=bytes(nbytes)
    )
    try:
        out = conv.to_rgb8(msg)
    except MessageError:
        return
    assert out.shape == (height, width, 3)
    assert out.dtype == np.uint8
