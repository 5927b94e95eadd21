"""Output views: any camera through the Synthesizer and ``infer``, camera models out, the angular scale kept."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_synth_core import metrics
from thermal_synth_core.agc import agc_normalize
from thermal_synth_core.align.transform import Alignment
from thermal_synth_core.camera import CameraModel
from thermal_synth_core.cli import main
from thermal_synth_core.data.synth.render import render_rgb
from thermal_synth_core.data.synth.world import random_layout
from thermal_synth_core.errors import AlignmentError, DataError
from thermal_synth_core.infer import Synthesizer
from thermal_synth_core.infer.imaging import postprocess, preprocess
from thermal_synth_core.infer.view import ViewSettings, derive_through, parse_output_width, plan_view

#: Vehicle cameras of the acceptance: 16:9 twice, 4:3, 16:10.
CAMERAS = [(1280, 720), (1920, 1080), (640, 480), (1920, 1200)]
#: The embedded model's rig (FLIR ADAS v1 RGB).
RIG = (1800, 1600)
#: A point in the camera frame (metres: right, down, forward) that every camera above sees.
POINT = (1.3, -0.4, 7.0)


@pytest.fixture(scope="module")
def synth() -> Synthesizer:
    return Synthesizer(backend="torch")  # the embedded model


def _street(size: tuple[int, int], seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scene = random_layout(rng, size, night=False).scene_at(0.0)
    return render_rgb(scene, size, rng)


def _distorted_camera(size: tuple[int, int]) -> CameraModel:
    """A calibrated-looking camera: off-centre principal point, fy != fx, plumb_bob distortion."""
    w, h = size
    fx = 0.62 * w
    k = [fx, 0.0, 0.52 * w, 0.0, fx * 1.01, 0.47 * h, 0.0, 0.0, 1.0]
    return CameraModel.from_matrices(size, k, [-0.21, 0.05, 0.001, -0.002, 0.0], frame_id="front_cam")


def _relative_error_px(rgb_cam: CameraModel, out_cam: CameraModel) -> float:
    """How far (output px) the point lands from where the RGB camera's projection says, relatively."""
    u, v = rgb_cam.project(POINT)
    u2, v2 = out_cam.project(POINT)
    sx, sy = out_cam.width / rgb_cam.width, out_cam.height / rgb_cam.height
    return max(abs((u2 + 0.5) - (u + 0.5) * sx), abs((v2 + 0.5) - (v + 0.5) * sy))


@pytest.mark.parametrize("size", CAMERAS, ids=[f"{w}x{h}" for w, h in CAMERAS])
@pytest.mark.parametrize("output_width", ["working", "input", 640])
def test_any_camera_keeps_its_aspect_and_its_camera_model(
    synth: Synthesizer, size: tuple[int, int], output_width: str | int
) -> None:
    synth.view_settings = ViewSettings("auto", None, output_width)
    synth._plans.clear()
    camera = _distorted_camera(size)
    result = synth.synthesize(_street(size), "rgb", camera)
    plan = result.plan
    assert plan.view == "camera"
    assert "auto" in plan.reason and "aspect ratio" in plan.reason
    h, w = result.image.shape
    assert (w, h) == plan.output_size == result.camera.size
    assert abs(w - h * size[0] / size[1]) <= 1.0  # the camera's aspect ratio, within a pixel
    if output_width == "input":
        assert (w, h) == size
    elif output_width == 640:
        assert w == 640
    assert _relative_error_px(camera, result.camera) <= 0.5
    assert result.camera.d == camera.d and result.camera.frame_id == "front_cam"
    # The network ran at the model's angular scale: its focal length in working pixels is the model's.
    fx_working = camera.fx * plan.working_size[0] / size[0]
    assert fx_working == pytest.approx(synth.spec.input_focal_px(), rel=0.01)
    assert int(result.image.max()) > int(result.image.min())


@pytest.mark.parametrize("size", CAMERAS, ids=[f"{w}x{h}" for w, h in CAMERAS])
def test_without_camera_info_the_hfov_or_the_models_own_is_used(
    synth: Synthesizer, size: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    synth.view_settings = ViewSettings("camera", camera_hfov_deg=90.0)
    synth._plans.clear()
    result = synth.synthesize(_street(size))
    assert result.plan.scale_source == "camera_hfov_deg"
    assert result.camera.hfov_deg == pytest.approx(90.0, abs=0.2)
    assert result.camera.d == (0.0,) * 5
    assert result.camera.k[2] == pytest.approx((result.camera.width - 1) / 2)
    synth.view_settings = ViewSettings("camera")
    synth._plans.clear()
    with caplog.at_level("WARNING"):
        assumed = synth.synthesize(_street(size))
    assert assumed.plan.scale_assumed
    assert assumed.camera.hfov_deg == pytest.approx(synth.spec.fov.hfov_deg, abs=0.2)
    assert "set camera_hfov_deg (--camera-hfov) or publish the camera's CameraInfo" in caplog.text


def test_rig_frames_in_auto_take_the_rig_view_bit_identical_to_before(synth: Synthesizer) -> None:
    """Pins the FLIR-rig path: auto on 1800x1600 is exactly the pre-view pipeline (warp, run, resize)."""
    synth.view_settings = ViewSettings()
    synth._plans.clear()
    for size in (RIG, (900, 800)):
        rgb = _street(size, seed=5)
        result = synth.synthesize(rgb)
        assert result.plan.view == "rig"
        assert result.plan.working_size == synth.spec.input_size
        old = postprocess(synth.backend.run(preprocess(rgb, synth.spec, synth.alignment))[0], synth.spec)
        assert np.array_equal(result.image, old)
        assert result.image.shape == (512, 640)
        assert np.array_equal(synth(rgb), old)


def test_rig_view_camera_models(synth: Synthesizer) -> None:
    synth.view_settings = ViewSettings("rig")
    synth._plans.clear()
    rgb = _street(RIG)
    plain = synth.synthesize(rgb)
    assert plain.camera.size == (640, 512)
    assert plain.camera.hfov_deg == pytest.approx(45.0, abs=0.05)  # the model's thermal camera
    rgb_cam = CameraModel.pinhole(RIG, 80.0, "test", frame_id="flir_rgb")
    derived = synth.synthesize(rgb, camera=rgb_cam).camera
    assert "derived from the RGB CameraInfo" in derived.source
    # The FLIR alignment is a scale and offset: a point lands where the alignment maps its RGB pixel.
    u, v = rgb_cam.project(POINT)
    m = synth.alignment.matrix_for(RIG, (640, 512))
    expected = m @ np.array([u, v, 1.0])
    assert np.allclose(derived.project(POINT), expected[:2] / expected[2], atol=1e-6)


def test_rig_view_refuses_another_camera_and_camera_view_takes_rig_frames(synth: Synthesizer) -> None:
    synth.view_settings = ViewSettings("rig")
    synth._plans.clear()
    with pytest.raises(AlignmentError, match=r"view 'rig' needs .* this frame is 1280x720\. Use view 'camera'"):
        synth(_street((1280, 720)))
    synth.view_settings = ViewSettings("camera", camera_hfov_deg=80.0)
    synth._plans.clear()
    result = synth.synthesize(_street(RIG))
    assert result.plan.view == "camera"
    assert result.image.shape[1] / result.image.shape[0] == pytest.approx(RIG[0] / RIG[1], abs=0.01)


def _crop_case(full: np.ndarray, hfov: float) -> tuple[CameraModel, np.ndarray, CameraModel, tuple[int, int]]:
    """A wide frame's pinhole camera, its centre crop and the crop's own CameraInfo (same f, shifted centre)."""
    h, w = full.shape[:2]
    full_cam = CameraModel.pinhole((w, h), hfov, "test")
    x0, y0 = w // 4, h // 4
    crop = np.ascontiguousarray(full[y0 : y0 + h // 2, x0 : x0 + w // 2])
    k = list(full_cam.k)
    k[2] -= x0
    k[5] -= y0
    return full_cam, crop, CameraModel.from_matrices((w // 2, h // 2), k, full_cam.d), (x0, y0)


def _real_rgb_crops(count: int) -> list[np.ndarray]:
    folder = Path(__file__).resolve().parents[3].parent / "shared" / "real" / "roadscene_flir_v1" / "crop_HR_visible"
    files = sorted(folder.glob("*.jpg"))[:count]
    if not files:
        pytest.skip(f"real FLIR RGB frames not present at {folder} (see ../shared/real/README.md)")
    frames = []
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        assert image is not None, path
        h, w = image.shape[:2]
        frames.append(np.ascontiguousarray(image[: h // 4 * 4, : w // 4 * 4, ::-1]))
    return frames


@pytest.mark.parametrize("source", ["procedural", "real-flir-rgb"])
def test_scale_consistency_the_network_sees_a_crop_at_the_full_frames_scale(synth: Synthesizer, source: str) -> None:
    """The property that proves the angular scale, where the Synthesizer's contract ends: the network input.

    A wide frame with a known HFOV and its centre crop (with its own, narrower CameraInfo) are
    planned in the camera view. The crop's working image must be the same window of the full
    frame's working image: same pixels per degree (half the width, within rounding), and the same
    content once the sub-pixel window offset is resampled. Tolerance: mean |diff| < 3 grey levels
    over the interior (8 px borders excluded, where bilinear resampling reads outside the window).
    Measured: 1.2-1.7 on procedural frames, 0.6-2.2 on real FLIR RGB; it is interpolation (area
    averaging once vs. twice), not geometry: a one-pixel shift alone gives ~10. The control, the crop
    treated as if it had the full frame's field of view, runs at twice the size (objects twice as big).
    """
    frames = [_street((1280, 720), 11), _street((1920, 1080), 4)] if source == "procedural" else _real_rgb_crops(3)
    synth.view_settings = ViewSettings("camera")
    for full, hfov in zip(frames, (90.0, 100.0, 60.0), strict=False):
        synth._plans.clear()
        h, w = full.shape[:2]
        full_cam, crop, crop_cam, (x0, y0) = _crop_case(full, hfov)
        pf = synth.plan(w, h, full_cam)
        pc = synth.plan(w // 2, h // 2, crop_cam)
        assert abs(pc.working_size[0] * 2 - pf.working_size[0]) <= 2
        blob_full = synth.preprocess(full, "rgb", pf)[0].transpose(1, 2, 0)
        blob_crop = synth.preprocess(crop, "rgb", pc)[0].transpose(1, 2, 0)
        shift = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
        m = pf.matrix_array() @ shift @ np.linalg.inv(pc.matrix_array())  # crop working px -> full working px
        window = cv2.warpAffine(
            np.ascontiguousarray(blob_full), m[:2], pc.working_size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        )
        diff = float(np.abs(window - blob_crop)[8:-8, 8:-8].mean() * 127.5)
        assert diff < 3.0, f"{source} {w}x{h}: crop vs window of the full frame, mean |diff| {diff:.2f} grey levels"
        wrong = synth.plan(w // 2, h // 2, CameraModel.pinhole((w // 2, h // 2), hfov, "wrong"))
        assert wrong.working_size[0] > 1.8 * pc.working_size[0]


def test_scale_consistency_of_the_synthesised_outputs(synth: Synthesizer) -> None:
    """The same on the outputs of the embedded model, returned at the input size.

    The generator looks at the whole frame (instance normalisation, a 1/32 bottleneck), so a crop's
    output is not pixel-equal to the full frame's: fair is to ask that the right scale reproduces the
    full frame's output better than wrong scales do. Measured SSIM (AGC'd, borders of 1/16 of the
    width excluded) over three procedural streets: right scale 0.86, twice the scale 0.68, half the
    scale 0.79. (On real frames this demonstration model, trained on procedural scenes only, is too
    unstable for the comparison to mean anything.)
    """
    synth.view_settings = ViewSettings("camera", output_width="input")
    scores: dict[str, list[float]] = {"right": [], "twice": [], "half": []}
    for size, seed, hfov in (((1280, 720), 11, 90.0), ((1280, 720), 3, 90.0), ((1920, 1080), 4, 100.0)):
        synth._plans.clear()
        full = _street(size, seed)
        w, h = size
        full_cam, crop, crop_cam, (x0, y0) = _crop_case(full, hfov)
        reference = synth.synthesize(full, camera=full_cam).image[y0 : y0 + h // 2, x0 : x0 + w // 2]
        k = np.asarray(crop_cam.k)
        cams = {
            "right": crop_cam,
            "twice": CameraModel.pinhole(crop_cam.size, hfov, "wrong"),
            "half": CameraModel.from_matrices(crop_cam.size, k * [2, 1, 1, 1, 2, 1, 1, 1, 1]),
        }
        border = w // 16
        inner = (slice(border, h // 2 - border), slice(border, w // 2 - border))
        for name, cam in cams.items():
            out = synth.synthesize(crop, camera=cam).image
            scores[name].append(metrics.ssim(agc_normalize(out[inner]), agc_normalize(reference[inner])))
    mean = {name: float(np.mean(v)) for name, v in scores.items()}
    assert mean["right"] > 0.8, mean
    assert mean["right"] > mean["twice"] + 0.05, mean
    assert mean["right"] > mean["half"] + 0.03, mean


def test_camera_info_that_fits_a_rescale_is_fitted_and_a_wrong_one_refused(synth: Synthesizer) -> None:
    synth.view_settings = ViewSettings("camera")
    synth._plans.clear()
    rgb = _street((640, 360))
    cam_full = _distorted_camera((1280, 720))  # calibrated at full resolution, driver publishes half
    result = synth.synthesize(rgb, camera=cam_full)
    assert result.plan.scale_source == "CameraInfo"
    assert _relative_error_px(cam_full, result.camera) <= 0.5
    with pytest.raises(DataError, match=r"is for 640x480 images, but the image is 640x360"):
        synth.synthesize(rgb, camera=_distorted_camera((640, 480)))
    bad = CameraModel.from_matrices((640, 360), [0.0] * 9)
    with pytest.raises(DataError, match=r"no positive focal lengths"):
        synth.synthesize(rgb, camera=bad)
    nan = CameraModel.from_matrices((640, 360), [float("nan")] * 9)
    with pytest.raises(DataError, match=r"NaN or infinite"):
        synth.synthesize(rgb, camera=nan)


def test_another_rigs_alignment_replaces_the_models(tmp_path: Path) -> None:
    # Another vehicle: RGB 1280x960 (4:3), thermal 640x480 with a 32 deg lens, offset and a small rotation.
    angle = np.radians(1.0)
    m = np.array(
        [
            [0.55 * np.cos(angle), -0.55 * np.sin(angle), -30.0],
            [0.55 * np.sin(angle), 0.55 * np.cos(angle), -20.0],
            [0.0, 0.0, 1.0],
        ]
    )
    rig = Alignment.from_matrix(m, (1280, 960), (640, 480), "test rig")
    rig.save(tmp_path / "rig.yaml")
    synth = Synthesizer(backend="torch", view="auto", alignment=tmp_path / "rig.yaml", rig_hfov_deg=32.0)
    result = synth.synthesize(_street((1280, 960)))
    assert result.plan.view == "rig"
    assert result.image.shape == (480, 640)
    # 32 deg on 640 px is a longer focal length than the model's 45 deg: the network runs larger.
    expected = 640 * synth.spec.input_focal_px() / CameraModel.pinhole((640, 480), 32.0, "x").fx
    assert result.plan.working_size[0] == round(expected)
    derived = derive_through(CameraModel.pinhole((1280, 960), 60.0, "x"), rig.matrix_for((1280, 960)), (640, 480))
    assert derived.k[1] == pytest.approx(0.0, abs=1e-9)  # the rotation is split off: K stays upper-triangular
    assert derived.fx == pytest.approx(0.55 * CameraModel.pinhole((1280, 960), 60.0, "x").fx, rel=1e-6)
    # 16:9 frames on that vehicle's 4:3 rig: auto goes to the camera view.
    assert synth.synthesize(_street((1280, 720))).plan.view == "camera"


def test_infer_cli_writes_camera_info_for_every_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "dash.png"), _street((1280, 720))[:, :, ::-1])
    _distorted_camera((1280, 720)).save_yaml(tmp_path / "rgb_info.yaml", "dash")
    out = tmp_path / "out"
    argv = ["infer", "--input", str(frames), "--out", str(out), "--backend", "torch"]
    assert main([*argv, "--camera-info", str(tmp_path / "rgb_info.yaml"), "--output-width", "input"]) == 0
    assert "camera 1280x720 from 1280x720" in capsys.readouterr().out
    thermal = cv2.imread(str(out / "dash.png"), cv2.IMREAD_UNCHANGED)
    assert thermal is not None
    assert thermal.shape == (720, 1280)
    info = CameraModel.load_yaml(out / "camera_info.yaml")
    assert info.size == (1280, 720)
    assert np.allclose(info.k, _distorted_camera((1280, 720)).k)
    assert main([*argv, "--view", "camera", "--camera-hfov", "70", "--output-width", "400"]) == 0
    info = CameraModel.load_yaml(out / "camera_info.yaml")
    assert info.size == (400, 225)
    assert info.hfov_deg == pytest.approx(70.0, abs=0.3)
    assert main([*argv, "--view", "rig"]) == 1
    with pytest.raises(SystemExit):
        main([*argv, "--view", "fisheye"])
    assert main([*argv, "--output-width", "wide"]) == 1
    assert "output_width must be 'working', 'input' or a number of pixels" in capsys.readouterr().err


def test_camera_model_yaml_round_trip_and_errors(tmp_path: Path) -> None:
    cam = _distorted_camera((1920, 1080)).with_frame("f")
    path = cam.save_yaml(tmp_path / "c.yaml", "front")
    text = path.read_text()
    for key in (
        "image_width: 1920",
        "camera_name: front",
        "camera_matrix:",
        "distortion_model: plumb_bob",
        "rectification_matrix:",
        "projection_matrix:",
    ):
        assert key in text
    again = CameraModel.load_yaml(path)
    assert (again.k, again.d, again.p, again.size) == (cam.k, cam.d, cam.p, cam.size)
    (tmp_path / "bad.yaml").write_text(
        "image_width: 10\nimage_height: 10\ncamera_matrix: {rows: 3, cols: 3, data: [1]}"
    )
    with pytest.raises(DataError, match=r"bad\.yaml: malformed camera_info .*camera_matrix needs 9 values"):
        CameraModel.load_yaml(tmp_path / "bad.yaml")
    with pytest.raises(DataError, match=r"camera info file not found"):
        CameraModel.load_yaml(tmp_path / "none.yaml")


def test_view_settings_are_checked() -> None:
    with pytest.raises(DataError, match=r"unknown view 'fisheye'; valid: auto, rig, camera"):
        ViewSettings("fisheye")
    with pytest.raises(DataError, match=r"camera_hfov_deg must be between 0 and 180"):
        ViewSettings("camera", camera_hfov_deg=190.0)
    assert parse_output_width("800") == 800
    assert parse_output_width("Input") == "input"
    with pytest.raises(DataError, match=r"between 1 and 8192"):
        parse_output_width(0)


def test_a_camera_too_narrow_for_the_model_is_a_clear_error(synth: Synthesizer) -> None:
    with pytest.raises(DataError, match=r"only \d+x\d+ pixels: its field of view is far narrower"):
        plan_view(synth.spec, synth.alignment, ViewSettings("camera", camera_hfov_deg=1.0), (640, 480))
