"""``--write-bag``: a copy of the input bag plus the synthetic thermal topics, playable in RViz or Foxglove.

Every input message is copied as recorded (rosbag2: the same CDR bytes; ROS 1:
converted once to its ROS 2 form). Each synthesized frame adds
``/thermal_synth/image`` (mono8 or mono16) and ``/thermal_synth/image_color``
(bgr8, colour-mapped) with the RGB frame's header stamp and recording time, so a
player shows them together with the camera frame they came from.

Frames finish out of recording order (batches, frames waiting for their real
thermal partner), yet a bag should be written in time order: writes go through
a small heap and are released up to the recording time of the earliest frame
still being synthesized. The bag is written in a hidden temporary folder beside
the target and renamed into place only when complete, so a killed run leaves
nothing a re-run would mistake for a finished bag.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from rosbags.convert.converter import generate_message_converter
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from thermal_synth_core.camera import CAMERA_INFO_TYPE, CameraModel
from thermal_synth_core.errors import BagError
from thermal_synth_core.eval.bag import IMAGE, BagSource, Record
from thermal_synth_core.names import OUTPUT_STORAGES

__all__ = ["COLOR_TOPIC", "INFO_TOPIC", "OUTPUT_STORAGES", "THERMAL_TOPIC", "SyntheticBagWriter", "output_storage"]

log = logging.getLogger(__name__)

THERMAL_TOPIC: Final = "/thermal_synth/image"
INFO_TOPIC: Final = "/thermal_synth/camera_info"
CAMERA_INFO: Final = CAMERA_INFO_TYPE
COLOR_TOPIC: Final = "/thermal_synth/image_color"
#: ``--write-storage`` values; ``auto`` keeps the input's rosbag2 storage (mcap for ROS 1 input).


def output_storage(requested: str, source_storage: str) -> str:
    """The storage plugin to write: the requested one, or for ``auto`` the input's (mcap for ROS 1 and unknown)."""
    if requested not in OUTPUT_STORAGES:
        raise BagError(f"unknown bag storage {requested!r}; valid: {', '.join(OUTPUT_STORAGES)}")
    if requested != "auto":
        return requested
    return source_storage if source_storage in ("sqlite3", "mcap") else "mcap"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _remove_stale_staging(out: Path) -> None:
    """Delete the hidden staging folders that killed runs left beside ``out`` (their writer process is gone)."""
    prefix = f".{out.name}.partial-"
    for staging in out.parent.glob(f"{prefix}*"):
        pid_text = staging.name[len(prefix) :].split("-", 1)[0]
        if staging.is_dir() and pid_text.isdigit() and not _pid_alive(int(pid_text)):
            log.info("removing %s, left by a run that was killed", staging)
            shutil.rmtree(staging, ignore_errors=True)


class SyntheticBagWriter:
    """Writes the output bag; see the module docstring. Use as a context manager.

    Args:
        out: the rosbag2 folder to create (must not exist).
        source: the input bag (its connections are copied).
        storage: ``sqlite3`` or ``mcap``.
        expected: ``(frame index, recording time)`` of every frame that will be added or skipped.
        encoding: ``mono8`` or ``mono16`` (the model's output).
    """

    def __init__(
        self, out: str | Path, source: BagSource, storage: str, expected: Iterable[tuple[int, int]], encoding: str
    ) -> None:
        self.out = Path(out).expanduser()
        if self.out.exists():
            raise BagError(
                f"--write-bag {self.out} exists already; bags are never overwritten (remove it or choose another)"
            )
        if self.out.resolve() == source.path.resolve():
            raise BagError("--write-bag must not be the input bag")
        self.source = source
        self.storage = storage
        self.encoding = encoding
        self.store = get_typestore(Stores.ROS2_KILTED)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(self.out)
        # The pid in the name lets a later run tell a killed run's leftovers from a live run's work.
        self._staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.partial-{os.getpid()}-", dir=self.out.parent))
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self._writer: Any = Writer(self._staging / self.out.name, version=9, storage_plugin=plugin)
        self._writer.open()
        self._heap: list[tuple[int, int, Any, bytes]] = []
        self._seq = 0
        self._pending: list[tuple[int, int]] = sorted((log_ns, idx) for idx, log_ns in expected)
        heapq.heapify(self._pending)
        self._done: set[int] = set()
        self.skipped_topics: list[str] = []
        self.counts: dict[str, int] = {}
        self._conns: dict[int, tuple[Any, Callable[[bytes], bytes] | None]] = {}
        for conn in source.connections():
            self._add_input_connection(conn)
        self._thermal = self._writer.add_connection(THERMAL_TOPIC, IMAGE, typestore=self.store)
        self._info = self._writer.add_connection(INFO_TOPIC, CAMERA_INFO, typestore=self.store)
        self._color = self._writer.add_connection(COLOR_TOPIC, IMAGE, typestore=self.store)

    # -- connections ---------------------------------------------------------------------------------

    def _add_input_connection(self, conn: Any) -> None:
        if conn.topic in (THERMAL_TOPIC, INFO_TOPIC, COLOR_TOPIC):
            # An input that already has synthetic topics (an earlier output): ours replace them.
            log.warning("input topic %s is replaced by this run's synthetic output", conn.topic)
            self.skipped_topics.append(conn.topic)
            return
        existing = next((c for c, _ in self._conns.values() if c.topic == conn.topic), None)
        try:
            if existing is not None:  # a topic recorded by several connections: one output connection
                if existing.msgtype != conn.msgtype:
                    raise BagError(f"recorded with two message types ({existing.msgtype}, {conn.msgtype})")
                self._conns[conn.id] = (existing, None if self.source.is2 else self._converter(conn.msgtype))
                return
            if self.source.is2:
                qos = list(getattr(conn.ext, "offered_qos_profiles", []) or [])
                msgdef = conn.msgdef.data if conn.msgdef is not None and conn.msgdef.data else None
                if msgdef and conn.digest:
                    out = self._writer.add_connection(
                        conn.topic, conn.msgtype, msgdef=msgdef, rihs01=conn.digest, offered_qos_profiles=qos
                    )
                else:  # an older bag without definitions: they come from the types rosbags knows
                    out = self._writer.add_connection(
                        conn.topic, conn.msgtype, typestore=self.source.reader.typestore, offered_qos_profiles=qos
                    )
                self._conns[conn.id] = (out, None)
            else:
                convert = self._converter(conn.msgtype)
                out = self._writer.add_connection(conn.topic, conn.msgtype, typestore=self.store)
                self._conns[conn.id] = (out, convert)
        except BagError as exc:
            log.warning("not copied: %s: %s", conn.topic, exc)
            self.skipped_topics.append(conn.topic)
        except Exception as exc:  # rosbags refuses a definition it cannot hash or parse
            log.warning("not copied: %s (%s): %s", conn.topic, conn.msgtype, exc)
            self.skipped_topics.append(conn.topic)

    def _converter(self, msgtype: str) -> Callable[[bytes], bytes]:
        """ROS 1 bytes -> ROS 2 CDR bytes of the Kilted definition."""
        if msgtype not in self.store.types:
            raise BagError(f"{msgtype} from a ROS 1 bag has no ROS 2 equivalent to convert to")
        with contextlib.redirect_stdout(io.StringIO()):  # rosbags notes migrations on stdout
            convert = generate_message_converter(
                self.source.reader.typestore, self.store, msgtype, msgtype, {}, src_is2=False, dst_is2=True
            )
        return lambda raw: bytes(convert(raw))

    # -- writing -------------------------------------------------------------------------------------

    def add_record(self, record: Record) -> None:
        """Copy one input message."""
        entry = self._conns.get(record.connection.id)
        if entry is None:
            return
        conn, convert = entry
        raw = convert(record.raw) if convert is not None else bytes(record.raw)
        self._push(record.log_ns, conn, raw)

    def add_frame(
        self,
        index: int,
        *,
        log_ns: int,
        stamp_ns: int,
        frame_id: str,
        thermal: npt.NDArray[Any],
        color: npt.NDArray[np.uint8],
        camera: CameraModel | None = None,
    ) -> None:
        """The synthetic outputs of frame ``index`` (at the RGB frame's recording time and header stamp)."""
        self._push(log_ns, self._thermal, self._image(stamp_ns, frame_id, thermal, self.encoding))
        if camera is not None:
            size = (thermal.shape[1], thermal.shape[0])
            self._push(log_ns, self._info, self._camera_info(stamp_ns, frame_id, camera.scaled(size)))
        self._push(log_ns, self._color, self._image(stamp_ns, frame_id, color, "bgr8"))
        self.skip(index)

    def skip(self, index: int) -> None:
        """Frame ``index`` will not be added (its RGB message could not be used)."""
        self._done.add(index)
        while self._pending and self._pending[0][1] in self._done:
            heapq.heappop(self._pending)
        self._flush(self._pending[0][0] if self._pending else None)

    def _image(self, stamp_ns: int, frame_id: str, arr: npt.NDArray[Any], encoding: str) -> bytes:
        types = self.store.types
        stamp = types["builtin_interfaces/msg/Time"](sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
        data = np.ascontiguousarray(arr)
        if data.dtype.itemsize > 1:
            data = data.astype(data.dtype.newbyteorder("<"), copy=False)
        h, w = data.shape[:2]
        msg = types[IMAGE](
            header=types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id),
            height=h,
            width=w,
            encoding=encoding,
            is_bigendian=0,
            step=w * data.itemsize * (data.shape[2] if data.ndim == 3 else 1),
            data=np.frombuffer(data.tobytes(), dtype=np.uint8),
        )
        return bytes(self.store.serialize_cdr(msg, IMAGE))

    def _camera_info(self, stamp_ns: int, frame_id: str, camera: CameraModel) -> bytes:
        msg = camera.to_msg(self.store.types, stamp_ns, frame_id)
        return bytes(self.store.serialize_cdr(msg, CAMERA_INFO))

    def _push(self, log_ns: int, conn: Any, raw: bytes) -> None:
        heapq.heappush(self._heap, (log_ns, self._seq, conn, raw))
        self._seq += 1
        if not self._pending:
            self._flush(None)

    def _flush(self, until: int | None) -> None:
        """Write everything recorded at or before ``until`` (all when None)."""
        while self._heap and (until is None or self._heap[0][0] <= until):
            log_ns, _, conn, raw = heapq.heappop(self._heap)
            self._writer.write(conn, log_ns, raw)
            self.counts[conn.topic] = self.counts.get(conn.topic, 0) + 1

    # -- finishing -----------------------------------------------------------------------------------

    def close(self, complete: bool = True) -> None:
        """Write what is left and move the bag into place (``complete``), or throw it away."""
        try:
            if complete:
                self._flush(None)
            self._writer.close()
            if complete:
                (self._staging / self.out.name).replace(self.out)
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)

    def __enter__(self) -> SyntheticBagWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self.close(complete=exc_type is None)
