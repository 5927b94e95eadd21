"""sensor_msgs/Image and CompressedImage <-> NumPy, as pure functions.

The readers are duck-typed on the message fields (``height``, ``width``,
``encoding``, ``is_bigendian``, ``step``, ``data``; ``format`` and ``data`` for
compressed images), so they accept rclpy messages, rosbags messages and test
doubles alike and need no ROS graph. Every malformed message raises
:class:`~thermal_synth_core.errors.MessageError` saying what is wrong, so the
node can count and drop it. Conversions are vectorised (NumPy views, OpenCV's
``cvtColor`` for Bayer demosaicing and YUV), so a 640x512 frame costs well
under a millisecond or two.

The readers live in the ROS-free core because offline evaluation decodes
messages read from bags with rosbags; the node uses the same functions
(through :mod:`thermal_synth_ros.conversions`, which adds the rclpy builders).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import cv2
import numpy as np
import numpy.typing as npt

from thermal_synth_core.errors import MessageError

__all__ = [
    "COLOR_ENCODINGS",
    "MAX_BYTES",
    "MAX_SIDE",
    "THERMAL_ENCODINGS",
    "ChannelOrder",
    "Encoding",
    "compressed_to_color8",
    "compressed_to_mono",
    "encoding_info",
    "image_to_array",
    "stamp_ns",
    "to_color8",
    "to_mono",
    "to_rgb8",
    "to_thermal_float",
]

ChannelOrder: TypeAlias = Literal["rgb", "bgr"]
U8Image: TypeAlias = npt.NDArray[np.uint8]

#: Largest accepted width or height: larger is a corrupt header, not a camera.
MAX_SIDE = 8192
#: Largest accepted ``data`` buffer (200 MiB): guards against absurd headers.
MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Encoding:
    """How one ``sensor_msgs/Image`` encoding lays out a pixel."""

    channels: int
    dtype: str
    """NumPy dtype of one channel value: ``uint8``, ``uint16`` or ``float32``."""
    kind: Literal["rgb", "bgr", "rgba", "bgra", "mono", "bayer", "yuv"]
    cv_code: int | None = None
    """OpenCV ``cvtColor`` code to RGB for Bayer and YUV encodings."""

    @property
    def bytes_per_pixel(self) -> int:
        """Bytes one pixel takes in ``data``."""
        return self.channels * np.dtype(self.dtype).itemsize


# OpenCV names Bayer patterns after the second row's first two pixels, so the
# ROS pattern RGGB is OpenCV's "BayerBG" (the mapping cv_bridge uses too; a
# test checks it against a mosaic made from a known colour).
_BAYER = {
    "rggb": cv2.COLOR_BayerBG2RGB,
    "bggr": cv2.COLOR_BayerRG2RGB,
    "gbrg": cv2.COLOR_BayerGR2RGB,
    "grbg": cv2.COLOR_BayerGB2RGB,
}

_ENCODINGS: dict[str, Encoding] = {
    "rgb8": Encoding(3, "uint8", "rgb"),
    "bgr8": Encoding(3, "uint8", "bgr"),
    "rgba8": Encoding(4, "uint8", "rgba"),
    "bgra8": Encoding(4, "uint8", "bgra"),
    "rgb16": Encoding(3, "uint16", "rgb"),
    "bgr16": Encoding(3, "uint16", "bgr"),
    "rgba16": Encoding(4, "uint16", "rgba"),
    "bgra16": Encoding(4, "uint16", "bgra"),
    "8UC3": Encoding(3, "uint8", "bgr"),  # OpenCV's default channel order, as cv_bridge assumes
    "8UC4": Encoding(4, "uint8", "bgra"),
    "mono8": Encoding(1, "uint8", "mono"),
    "8UC1": Encoding(1, "uint8", "mono"),
    "mono16": Encoding(1, "uint16", "mono"),
    "16UC1": Encoding(1, "uint16", "mono"),
    "32FC1": Encoding(1, "float32", "mono"),
    # yuv422 is UYVY (sensor_msgs/image_encodings.hpp); newer distros also spell both out.
    "yuv422": Encoding(2, "uint8", "yuv", cv2.COLOR_YUV2RGB_UYVY),
    "uyvy": Encoding(2, "uint8", "yuv", cv2.COLOR_YUV2RGB_UYVY),
    "yuv422_yuy2": Encoding(2, "uint8", "yuv", cv2.COLOR_YUV2RGB_YUY2),
    "yuyv": Encoding(2, "uint8", "yuv", cv2.COLOR_YUV2RGB_YUY2),
    **{f"bayer_{p}8": Encoding(1, "uint8", "bayer", code) for p, code in _BAYER.items()},
    **{f"bayer_{p}16": Encoding(1, "uint16", "bayer", code) for p, code in _BAYER.items()},
}

#: Encodings accepted as the model's colour input (``rgb/image``).
COLOR_ENCODINGS: tuple[str, ...] = tuple(e for e in _ENCODINGS if e != "32FC1")
#: Encodings accepted as real thermal input (``real_thermal/image``).
THERMAL_ENCODINGS: tuple[str, ...] = ("mono8", "8UC1", "mono16", "16UC1", "32FC1")


def encoding_info(encoding: str) -> Encoding:
    """Layout of ``encoding``; raises :class:`MessageError` listing the supported ones."""
    try:
        return _ENCODINGS[encoding]
    except KeyError:
        raise MessageError(f"unsupported image encoding {encoding!r}; supported: {', '.join(_ENCODINGS)}") from None


def stamp_ns(header: Any) -> int:
    """A ``std_msgs/Header`` stamp as integer nanoseconds."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def _buffer(data: Any) -> U8Image:
    """``data`` as a flat uint8 array without copying when it supports the buffer protocol."""
    try:
        if isinstance(data, np.ndarray):
            return data.reshape(-1).view(np.uint8) if data.dtype != np.uint8 else data.reshape(-1)
        try:
            return np.frombuffer(data, dtype=np.uint8)
        except (TypeError, ValueError, BufferError):  # a list of ints (hand-built), a strided view
            return np.asarray(data, dtype=np.uint8).reshape(-1)
    except (TypeError, ValueError, OverflowError, BufferError) as exc:
        # None, text, object arrays, or ints outside 0..255: not image bytes.
        raise MessageError(f"image data is not a byte sequence ({type(data).__name__}: {exc})") from None


def _int_field(msg: Any, name: str) -> int:
    """An integer message field; anything else (text, None, 2.5) is a malformed message, not a crash."""
    value: Any = getattr(msg, name, None)
    try:
        return operator.index(value)
    except TypeError:
        shown = repr(value)[:40]
        raise MessageError(f"image field {name!r} must be an integer, got {type(value).__name__} {shown}") from None


def _check_size(height: int, width: int, nbytes: int, what: str) -> None:
    if height <= 0 or width <= 0:
        raise MessageError(f"{what} has zero size ({width}x{height})")
    if height > MAX_SIDE or width > MAX_SIDE:
        raise MessageError(f"{what} is absurdly large ({width}x{height}; at most {MAX_SIDE} per side)")
    if nbytes > MAX_BYTES:
        raise MessageError(f"{what} is absurdly large ({nbytes} bytes; at most {MAX_BYTES})")


def image_to_array(msg: Any) -> tuple[npt.NDArray[Any], Encoding]:
    """The pixels of a ``sensor_msgs/Image`` as an (H, W) or (H, W, C) array in native byte order.

    Row padding (``step`` larger than a row) is skipped without copying; the
    result may therefore be a non-contiguous view of ``msg.data``.
    """
    enc = encoding_info(str(msg.encoding))
    height, width, step = _int_field(msg, "height"), _int_field(msg, "width"), _int_field(msg, "step")
    _check_size(height, width, height * max(step, 0), f"{msg.encoding} image")
    row = width * enc.bytes_per_pixel
    if step < row:
        raise MessageError(f"{msg.encoding} image step {step} is smaller than a row ({width} px x {row // width} B)")
    buf = _buffer(msg.data)
    if buf.size != height * step:
        raise MessageError(
            f"{msg.encoding} image data has {buf.size} bytes, expected height*step = {height}*{step} = {height * step}"
        )
    if enc.kind == "yuv" and width % 2:
        raise MessageError(f"{msg.encoding} image width {width} must be even (2 pixels share U and V)")
    rows = buf.reshape(height, step)[:, :row]
    dtype = np.dtype(enc.dtype)
    if dtype.itemsize > 1:
        rows = rows.view(dtype.newbyteorder(">" if msg.is_bigendian else "<"))
        if not rows.dtype.isnative:
            rows = rows.astype(dtype)
    return (rows if enc.channels == 1 else rows.reshape(height, width, enc.channels)), enc


def _to8(a: npt.NDArray[Any]) -> U8Image:
    """16-bit to 8-bit by the high byte (what cv_bridge does), 8-bit unchanged."""
    if a.dtype == np.uint8:
        return a
    return (a >> 8).astype(np.uint8)


def _cvt(a: npt.NDArray[Any], code: int) -> npt.NDArray[Any]:
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(a), code))


def to_color8(msg: Any) -> tuple[U8Image, ChannelOrder]:
    """An (H, W, 3) uint8 colour image from any colour encoding, in whichever order is cheapest.

    Returns the array and its channel order (``"rgb"`` or ``"bgr"``), so a
    ``bgr8`` camera costs no channel swap: the model takes either order.
    """
    a, enc = image_to_array(msg)
    if enc.kind == "mono":
        if enc.dtype == "float32":
            raise MessageError(f"{msg.encoding} is a depth/thermal encoding, not a camera colour encoding")
        return _to8(_cvt(_to8(a), cv2.COLOR_GRAY2RGB)), "rgb"
    if enc.kind in ("bayer", "yuv"):
        assert enc.cv_code is not None
        return _to8(_cvt(a, enc.cv_code)), "rgb"
    a8 = _to8(a)
    if enc.kind in ("rgba", "bgra"):
        return a8[:, :, :3], "rgb" if enc.kind == "rgba" else "bgr"
    return a8, "rgb" if enc.kind == "rgb" else "bgr"


def to_rgb8(msg: Any) -> U8Image:
    """An (H, W, 3) uint8 RGB image from any supported colour encoding (the model's input)."""
    a, order = to_color8(msg)
    if order == "bgr":
        return _to8(_cvt(a, cv2.COLOR_BGR2RGB))
    return a


def to_mono(msg: Any) -> npt.NDArray[Any]:
    """An (H, W) single-channel thermal image in its own dtype (uint8, uint16 or float32)."""
    if msg.encoding not in THERMAL_ENCODINGS:
        encoding_info(str(msg.encoding))  # an unknown encoding says so first
        raise MessageError(
            f"{msg.encoding} is not a thermal encoding; real thermal must be one of {', '.join(THERMAL_ENCODINGS)}"
        )
    return image_to_array(msg)[0]


def to_thermal_float(msg: Any) -> npt.NDArray[np.float32]:
    """An (H, W) float32 thermal image in the camera's own units (counts or degrees), before AGC."""
    return to_mono(msg).astype(np.float32)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Channels per PNG colour type (palette images decode to 3 channels).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
#: JPEG start-of-frame markers (every SOFn except DHT 0xC4, JPG 0xC8 and DAC 0xCC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _png_geometry(head: bytes) -> tuple[int, int, int] | None:
    """(width, height, bytes per pixel) from a PNG's IHDR chunk, or None when it has none."""
    if len(head) < 29 or head[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    depth, colour = head[24], head[25]
    return width, height, _PNG_CHANNELS.get(colour, 4) * (2 if depth == 16 else 1)


def _jpeg_geometry(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, bytes per pixel) from a JPEG's first start-of-frame segment, or None."""
    i = 2  # after SOI
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # stand-alone markers carry no length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return None
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _JPEG_SOF:
            if length < 8 or i + 10 > len(data):
                return None
            precision = data[i + 4]
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, height, data[i + 9] * (2 if precision > 8 else 1)
        if length < 2:
            return None
        i += 2 + length
    return None


def _check_compressed_geometry(buf: U8Image, fmt: str, flags: int) -> None:
    """Read the image size from the PNG/JPEG header and refuse absurd ones *before* decoding.

    A few MB of PNG or JPEG can claim 30000x30000 pixels (zeros compress ~1000:1);
    decoding it first would take gigabytes and seconds, so the header decides.
    Only PNG and JPEG are accepted: they are what ``compressed_image_transport``
    publishes, and the other decoders OpenCV carries are not exposed to the network.
    """
    what = f"compressed image ({fmt or 'no format'}, {buf.size} bytes)"
    head = buf[:64].tobytes()
    if head.startswith(_PNG_SIGNATURE):
        geometry = _png_geometry(head)
    elif head.startswith(b"\xff\xd8"):
        # Frame headers follow the APPn segments (EXIF thumbnails can make these long).
        geometry = _jpeg_geometry(buf[: 1 << 20].tobytes())
    else:
        raise MessageError(
            f"{what} cannot be decoded: the data is neither JPEG nor PNG (what compressed image transport publishes)"
        )
    if geometry is None:
        raise MessageError(f"{what} cannot be decoded: no image header")
    width, height, bpp = geometry
    pixel_bytes = max(bpp, 3) if flags == cv2.IMREAD_COLOR else bpp
    _check_size(height, width, width * height * pixel_bytes, f"{what} header")


def _decode(msg: Any, flags: int) -> npt.NDArray[Any]:
    fmt = str(msg.format)
    if "compressedDepth" in fmt:
        raise MessageError(f"compressed image format {fmt!r} (compressedDepth) is not supported")
    buf = _buffer(msg.data)
    if buf.size == 0:
        raise MessageError(f"compressed image ({fmt or 'no format'}) has no data")
    if buf.size > MAX_BYTES:
        raise MessageError(f"compressed image is absurdly large ({buf.size} bytes; at most {MAX_BYTES})")
    _check_compressed_geometry(buf, fmt, flags)
    try:
        img = cv2.imdecode(buf, flags)
    except cv2.error as exc:
        raise MessageError(f"compressed image ({fmt or 'no format'}) cannot be decoded: {exc}") from None
    if img is None or img.size == 0:
        raise MessageError(f"compressed image ({fmt or 'no format'}, {buf.size} bytes) cannot be decoded")
    _check_size(img.shape[0], img.shape[1], img.nbytes, f"decoded {fmt or 'compressed'} image")
    return np.asarray(img)


def compressed_to_color8(msg: Any) -> tuple[U8Image, ChannelOrder]:
    """Decode a ``sensor_msgs/CompressedImage`` (JPEG or PNG) to (H, W, 3) uint8 and its channel order."""
    return _decode(msg, cv2.IMREAD_COLOR), "bgr"


def compressed_to_mono(msg: Any) -> npt.NDArray[Any]:
    """Decode a compressed single-channel thermal frame (e.g. 16-bit PNG) keeping its bit depth."""
    img = _decode(msg, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    return img
