"""The node on any camera: output views, CameraInfo in and out, bad CameraInfo, size changes (real DDS)."""

from __future__ import annotations

import functools
from typing import Any

import cv2
import numpy as np
import pytest

from tests.ros.conftest import publish_until
from tests.ros.fakes import Collector, FakeModel, diagnostics_values, running_node, wait_for
from tests.ros.images import rclpy_image
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.data.synth.render import render_rgb
from thermal_synth_core.data.synth.world import random_layout
from thermal_synth_ros.diagnostics import DiagKey

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, CompressedImage, Image  # noqa: E402

from thermal_synth_ros.conversions import camera_info_msg  # noqa: E402

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
#: A point in the camera frame (metres) that every camera below sees.
POINT = (1.3, -0.4, 7.0)
#: (size, encoding) sent to each node: the vehicle cameras of the acceptance and the FLIR rig's RGB.
FRAMES = [
    ((1280, 720), "rgb8"),
    ((1920, 1080), "bgr8"),
    ((640, 480), "rgb8"),
    ((1920, 1200), "bgr8"),
    ((1800, 1600), "rgb8"),
]


def _street(size: tuple[int, int], seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return render_rgb(random_layout(rng, size, night=True).scene_at(0.0), size, rng)


def _camera(size: tuple[int, int]) -> CameraModel:
    w, h = size
    k = [0.6 * w, 0.0, 0.51 * w, 0.0, 0.6 * w, 0.48 * h, 0.0, 0.0, 1.0]
    return CameraModel.from_matrices(size, k, [-0.2, 0.04, 0.0, 0.0, 0.0], frame_id="cam")


def _info(camera: CameraModel, stamp: tuple[int, int]) -> Any:
    header = Image().header
    header.stamp.sec, header.stamp.nanosec = stamp
    header.frame_id = "cam"
    return camera_info_msg(camera, header)


def _with_stamp(messages: Collector, stamp: tuple[int, int]) -> Any:
    return messages.with_stamp(*stamp)


def _has_camera(node: Any, camera: CameraModel) -> bool:
    return node._rgb_camera is not None and node._rgb_camera.k == camera.k


def _failed_more(node: Any, before: int) -> bool:
    return bool(node._stats.counts()["failed"] > before)


def _relative_error_px(rgb_cam: CameraModel, out: Any) -> float:
    out_cam = CameraModel.from_msg(out)
    u, v = rgb_cam.project(POINT)
    u2, v2 = out_cam.project(POINT)
    sx, sy = out_cam.width / rgb_cam.width, out_cam.height / rgb_cam.height
    return max(abs((u2 + 0.5) - (u + 0.5) * sx), abs((v2 + 0.5) - (v + 0.5) * sy))


@pytest.mark.parametrize("transport", ["raw", "compressed"])
@pytest.mark.parametrize("view", ["auto", "camera", "rig"])
def test_embedded_model_on_any_camera_with_camera_info(
    ros_domain_id: int, probe: Any, view: str, transport: str
) -> None:
    """Every view x every input path (rgb8, bgr8, compressed) with the embedded model and real DDS."""
    params = {"view": view, "input_transport": transport, "backend": "torch", "output_width": "input"}
    with running_node(ros_domain_id, None, params) as node:
        images = Collector(probe, Image, "thermal/image")
        infos = Collector(probe, CameraInfo, "thermal/camera_info")
        diag = Collector(probe, DiagnosticArray, "/diagnostics")
        pub_info = probe.create_publisher(CameraInfo, "rgb/camera_info", RELIABLE)
        if transport == "compressed":
            pub = probe.create_publisher(CompressedImage, "rgb/image/compressed", RELIABLE)
        else:
            pub = probe.create_publisher(Image, "rgb/image", RELIABLE)
        for i, (size, encoding) in enumerate(FRAMES):
            stamp = (500 + i, 250_000_000)
            camera = _camera(size)
            publish_until(pub_info, _info(camera, stamp), functools.partial(_has_camera, node, camera))
            rgb = _street(size, seed=i)
            if transport == "compressed":
                ok, jpg = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]))
                assert ok
                msg: Any = CompressedImage(format="jpeg", data=jpg.tobytes())
                msg.header.stamp.sec, msg.header.stamp.nanosec = stamp
                msg.header.frame_id = "cam"
            else:
                msg = rclpy_image(rgb, encoding, stamp=stamp)
                msg.header.frame_id = "cam"
            rig_frame = size == (1800, 1600)
            if view == "rig" and not rig_frame:
                # Another camera than the rig's: refused per frame (counted), the node keeps running.
                before = node._stats.counts()["failed"]
                publish_until(pub, msg, functools.partial(_failed_more, node, before), timeout=30)
                continue
            out = publish_until(pub, msg, functools.partial(_with_stamp, images, stamp), timeout=60)
            info = wait_for(functools.partial(_with_stamp, infos, stamp), 10, "thermal/camera_info with the stamp")
            assert (info.width, info.height) == (out.width, out.height)
            assert info.header.frame_id == out.header.frame_id == "cam"
            expect_view = "rig" if (view == "rig" or (view == "auto" and rig_frame)) else "camera"
            assert node._plan is not None and node._plan.view == expect_view
            if expect_view == "camera":
                assert (out.width, out.height) == size  # output_width: input
                assert _relative_error_px(camera, info) <= 0.5
                assert list(info.d) == pytest.approx(camera.d)
            else:
                assert (out.width, out.height) == (640, 512)  # the FLIR thermal camera
            assert abs(out.width - out.height * size[0] / size[1]) <= 1.0 or expect_view == "rig"
        values = diagnostics_values(wait_for(lambda: diag.snapshot()[-1:] and diag.snapshot()[-1], 10, "diagnostics"))
        assert values["view"].startswith(("camera", "rig"))
        assert values[DiagKey.INFO_REJECTED] == "0"


def test_bad_camera_info_is_counted_and_the_fallback_applies(ros_domain_id: int, probe: Any) -> None:
    model = FakeModel()
    with running_node(ros_domain_id, model, {"camera_hfov_deg": 70.0}) as node:
        images = Collector(probe, Image, "thermal/image")
        infos = Collector(probe, CameraInfo, "thermal/camera_info")
        diag = Collector(probe, DiagnosticArray, "/diagnostics")
        pub_info = probe.create_publisher(CameraInfo, "rgb/camera_info", RELIABLE)
        pub = probe.create_publisher(Image, "rgb/image", RELIABLE)
        rgb = _street((320, 180))
        # zero K: rejected when it arrives
        zero = _info(CameraModel.from_matrices((320, 180), [0.0] * 9), (1, 0))
        publish_until(pub_info, zero, lambda: node._stats.counts()["info_rejected"] >= 1)
        assert node._rgb_camera is None
        nan = _info(CameraModel.from_matrices((320, 180), [float("nan")] * 9), (1, 0))
        publish_until(pub_info, nan, lambda: node._stats.counts()["info_rejected"] >= 2)
        publish_until(pub, rclpy_image(rgb, "rgb8", stamp=(2, 0)), lambda: images.with_stamp(2, 0))
        assert model.cameras[-1] is None  # the node fell back (the model plans with camera_hfov_deg)
        # a size that is no rescale of the image: stored, then refused at the frame
        wrong = _camera((640, 480))
        publish_until(pub_info, _info(wrong, (3, 0)), lambda: node._rgb_camera is not None)
        rejected = node._stats.counts()["info_rejected"]
        publish_until(pub, rclpy_image(rgb, "rgb8", stamp=(4, 0)), lambda: images.with_stamp(4, 0))
        assert node._stats.counts()["info_rejected"] > rejected
        assert model.cameras[-1] is None
        # a rescale of the image (calibrated at full resolution, published at a quarter): fitted
        full = _camera((1280, 720))
        publish_until(
            pub_info, _info(full, (5, 0)), lambda: node._rgb_camera is not None and node._rgb_camera.width == 1280
        )
        publish_until(pub, rclpy_image(rgb, "rgb8", stamp=(6, 0)), lambda: images.with_stamp(6, 0))
        assert model.cameras[-1] is not None and model.cameras[-1].size == (320, 180)
        info = wait_for(lambda: infos.with_stamp(6, 0), 10, "camera_info of the fitted frame")
        assert _relative_error_px(full, info) <= 0.5
        # the frame size changes mid-stream: handled, the plan follows
        small = _street((160, 90))
        out = publish_until(pub, rclpy_image(small, "rgb8", stamp=(7, 0)), lambda: images.with_stamp(7, 0))
        assert (out.width, out.height) == (160, 90)
        assert node._plan is not None and node._plan.rgb_size == (160, 90)
        values = diagnostics_values(
            wait_for(
                lambda: [m for m in diag.snapshot() if diagnostics_values(m).get(DiagKey.INFO_REJECTED, "0") != "0"],
                10,
                "diagnostics counting rejected CameraInfo",
            )[-1]
        )
        assert int(values[DiagKey.INFO_REJECTED]) >= 3
        assert "CameraInfo" in values.get(DiagKey.LAST_PROBLEM, "") or values[DiagKey.INFO_REJECTED]


def test_two_nodes_in_namespaces_publish_only_on_their_own_topics(ros_domain_id: int, probe: Any) -> None:
    front, rear = FakeModel(), FakeModel(size=(32, 24))
    with (
        running_node(ros_domain_id, front, namespace="front") as n1,
        running_node(ros_domain_id, rear, namespace="rear") as n2,
    ):
        assert n1._pub_info.topic_name == "/front/thermal/camera_info"
        assert n2._sub_rgb.topic_name == "/rear/rgb/image"
        got = {ns: Collector(probe, Image, f"/{ns}/thermal/image") for ns in ("front", "rear")}
        infos = {ns: Collector(probe, CameraInfo, f"/{ns}/thermal/camera_info") for ns in ("front", "rear")}
        root = Collector(probe, Image, "/thermal/image")
        pub = probe.create_publisher(Image, "/front/rgb/image", RELIABLE)
        rgb = _street((64, 48))
        publish_until(pub, rclpy_image(rgb, "rgb8", stamp=(9, 0)), lambda: got["front"].with_stamp(9, 0))
        wait_for(lambda: infos["front"].with_stamp(9, 0), 10, "front camera_info")
        pub_rear = probe.create_publisher(Image, "/rear/rgb/image", RELIABLE)
        out = publish_until(pub_rear, rclpy_image(rgb, "rgb8", stamp=(10, 0)), lambda: got["rear"].with_stamp(10, 0))
        assert (out.width, out.height) == (32, 24)
        assert got["rear"].with_stamp(9, 0) is None and got["front"].with_stamp(10, 0) is None
        assert not root.snapshot()
        assert front.calls >= 1 and rear.calls >= 1


def test_rig_view_publishes_the_real_thermal_cameras_info_when_it_arrives(ros_domain_id: int, probe: Any) -> None:
    with running_node(ros_domain_id, None, {"view": "rig", "backend": "torch"}) as node:
        images = Collector(probe, Image, "thermal/image")
        infos = Collector(probe, CameraInfo, "thermal/camera_info")
        pub = probe.create_publisher(Image, "rgb/image", RELIABLE)
        pub_real = probe.create_publisher(CameraInfo, "real_thermal/camera_info", RELIABLE)
        rgb = _street((900, 800))
        # Before any real CameraInfo: a pinhole from the model's thermal field of view (45 deg, FLIR ADAS).
        publish_until(pub, rclpy_image(rgb, "rgb8", stamp=(20, 0)), lambda: images.with_stamp(20, 0), timeout=60)
        pinhole = CameraModel.from_msg(wait_for(lambda: infos.with_stamp(20, 0), 10, "camera_info"))
        assert pinhole.size == (640, 512) and pinhole.hfov_deg == pytest.approx(45.0, abs=0.1)
        # The real thermal camera's CameraInfo, calibrated at twice the resolution: fitted to 640x512.
        real = CameraModel.from_matrices((1280, 1024), [1500.0, 0, 650.0, 0, 1500.0, 500.0, 0, 0, 1], [0.1] * 5)
        publish_until(pub_real, _info(real, (21, 0)), lambda: node._real_camera is not None)
        publish_until(pub, rclpy_image(rgb, "rgb8", stamp=(22, 0)), lambda: images.with_stamp(22, 0), timeout=60)
        got = CameraModel.from_msg(wait_for(lambda: infos.with_stamp(22, 0), 10, "camera_info"))
        assert got.size == (640, 512)
        assert np.allclose(got.k, real.scaled((640, 512)).k)
        assert got.d == real.d
        assert node._info_source == "real thermal CameraInfo"
