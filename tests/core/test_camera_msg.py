"""CameraModel.to_msg, the one CameraInfo builder of the bags the package writes, reads back through from_msg."""

from __future__ import annotations

from typing import Any

from rosbags.typesys import Stores, get_typestore

from thermal_synth_core.camera import CAMERA_INFO_TYPE, CameraModel


def test_to_msg_round_trips_through_cdr_and_from_msg() -> None:
    store = get_typestore(Stores.ROS2_HUMBLE)
    camera = CameraModel.pinhole((320, 256), 37.5, "test", frame_id="thermal_camera")
    raw = store.serialize_cdr(camera.to_msg(store.types, 1_704_067_200_123_456_789, "thermal_camera"), CAMERA_INFO_TYPE)
    msg: Any = store.deserialize_cdr(raw, CAMERA_INFO_TYPE)
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1_704_067_200, 123_456_789)
    assert msg.header.frame_id == "thermal_camera"
    back = CameraModel.from_msg(msg)
    assert (back.width, back.height, back.k, back.p, back.distortion_model) == (
        camera.width,
        camera.height,
        camera.k,
        camera.p,
        camera.distortion_model,
    )
    assert abs(back.hfov_deg - 37.5) < 1e-9
