"""One test (or more) per claim of SECURITY.md.

1. Nothing unpickles untrusted data: a source scan for every unpickling call,
   and pickles that would run code, fed to every loader, run nothing.
2. TensorRT engines come only from the engine cache the product wrote (key and
   checksum checked; a mismatch is rebuilt, the bytes never reach TensorRT).
3. Paths read from manifests, pairing maps and frame names stay inside their
   dataset/output roots.
4. No subprocess goes through a shell.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.robust.fuzzing import fuzz
from thermal_synth_core.errors import DataError, ModelFileError, TrainingError

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("thermal_synth_core", "thermal_synth_ros", "training", "launch")
EVERYTHING = (*PRODUCT, "tests", "bench")


def _sources(folders: tuple[str, ...]) -> Iterator[tuple[Path, ast.Module]]:
    for folder in folders:
        root = REPO / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _calls(tree: ast.Module) -> Iterator[tuple[ast.Call, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, _dotted(node.func)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


# -- 1. no unpickling -----------------------------------------------------------------------------

UNPICKLING = {
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "marshal.load",
    "marshal.loads",
    "shelve.open",
    "dill.load",
    "dill.loads",
    "joblib.load",
    "yaml.load",
    "yaml.unsafe_load",
    "yaml.full_load",
    "yaml.load_all",
    "yaml.unsafe_load_all",
}


def test_the_product_source_never_unpickles() -> None:
    found = []
    for path, tree in _sources(PRODUCT):
        rel = path.relative_to(REPO)
        for call, name in _calls(tree):
            if name in UNPICKLING:
                found.append(f"{rel}:{call.lineno} {name}")
            if name == "torch.load" and not _is_true(_keyword(call, "weights_only")):
                found.append(f"{rel}:{call.lineno} torch.load without weights_only=True")
            if name in ("np.load", "numpy.load") and _is_true(_keyword(call, "allow_pickle")):
                found.append(f"{rel}:{call.lineno} numpy.load(allow_pickle=True)")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("pickle", "dill", "marshal", "shelve"):
                found.append(f"{rel}:{node.lineno} from {node.module} import ...")
    assert not found, "unpickling of possibly untrusted data:\n" + "\n".join(found)


class _Payload:
    """A pickle that creates a file when unpickled (what a malicious checkpoint would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def _malicious(tmp_path: Path, name: str, wrap: Any = None) -> tuple[Path, Path]:
    marker = tmp_path / f"{name}.pwned"
    path = tmp_path / name
    payload = _Payload(marker)
    torch.save(wrap(payload) if wrap else {"state_dict": {"w": torch.zeros(1)}, "x": payload}, path)
    assert not marker.exists()
    return path, marker


def test_training_checkpoints_load_with_weights_only(tmp_path: Path) -> None:
    from thermal_synth_core.train.checkpoint import CHECKPOINT_FORMAT, load_checkpoint

    path, marker = _malicious(tmp_path, "latest.pt", lambda p: {"format": CHECKPOINT_FORMAT, "step": 1, "x": p})
    with pytest.raises(TrainingError, match=r"latest\.pt is corrupt or not a thermal-synth checkpoint"):
        load_checkpoint(path)
    assert not marker.exists(), "loading a checkpoint ran code"


def test_reference_checkpoints_load_with_weights_only(tmp_path: Path) -> None:
    from thermal_synth_core.models.reference import load_reference_checkpoint

    path, marker = _malicious(tmp_path, "latest_net_G.pth")
    with pytest.raises(ModelFileError, match=r"torch\.load\(weights_only=True\)"):
        load_reference_checkpoint(path)
    assert not marker.exists(), "importing a reference checkpoint ran code"


@pytest.mark.parametrize("reader", ["read_spec", "load_model", "load_generator"])
def test_a_pickle_posing_as_a_model_file_runs_nothing(tmp_path: Path, reader: str) -> None:
    from thermal_synth_core import modelfile, models

    path, marker = _malicious(tmp_path, "model.safetensors")
    with pytest.raises(ModelFileError, match=r"not a safetensors model file"):
        getattr(models if reader == "load_generator" else modelfile, reader)(path)
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_a_raw_pickle_is_refused_everywhere(tmp_path: Path) -> None:
    """Not a torch zip, a bare pickle stream: the other shape a hostile file could take."""
    from thermal_synth_core.models.reference import load_reference_checkpoint
    from thermal_synth_core.train.checkpoint import load_checkpoint

    marker = tmp_path / "raw.pwned"
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(TrainingError):
        load_checkpoint(raw)
    with pytest.raises(ModelFileError):
        load_reference_checkpoint(raw)
    assert not marker.exists()


@fuzz(40)
@given(data=st.data())
def test_damaged_training_checkpoints_are_training_errors(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    from thermal_synth_core.train.checkpoint import load_checkpoint, save_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "latest.pt"
    save_checkpoint(path, {"step": 3, "task": {"w": torch.arange(40.0).reshape(4, 10)}, "rng": [], "config": {}})  # type: ignore[typeddict-item]  # only what loading reads
    raw = bytearray(path.read_bytes())
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(0, len(raw) - 1)) :]
    else:
        for _ in range(data.draw(st.integers(1, 6))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path.write_bytes(bytes(raw))
    try:
        state = load_checkpoint(path)
    except TrainingError:
        return
    assert state["step"] == 3


# -- 2. TensorRT engines: only from the product's own cache, key and checksum checked ------------------

SHAPES = ((1, 3, 256, 320), (1, 3, 256, 320), (4, 3, 256, 320))


def _key() -> Any:
    from thermal_synth_core.export.tensorrt import EngineKey

    return EngineKey("10.13.0.35", "8.7", "ab" * 32, "fp16", SHAPES)


class _TensorRT:
    """Stands in for TensorRT's builder and runtime, recording every byte string it deserialises."""

    def __init__(self) -> None:
        self.built = 0
        self.seen: list[bytes] = []

    def build(self) -> bytes:
        self.built += 1
        return b"plan-%d" % self.built + bytes(1000)

    def deserialize(self, data: bytes) -> Any:
        self.seen.append(data)
        return ("engine", data[:6])


@pytest.mark.parametrize("damage", ["flip", "truncate", "replace", "no-checksum", "bad-checksum", "deep-json"])
def test_an_engine_not_matching_its_checksum_is_rebuilt_and_never_deserialised(tmp_path: Path, damage: str) -> None:
    from thermal_synth_core.export.tensorrt import (
        CHECKSUM_FIELD,
        engine_cache_path,
        engine_problem,
        load_or_build_engine,
    )

    key = _key()
    path = engine_cache_path(key, tmp_path)
    trt = _TensorRT()
    assert load_or_build_engine(key, path, trt.build, trt.deserialize) == ("engine", b"plan-1")
    good = path.read_bytes()
    sidecar = path.with_name(path.name + ".json")
    meta = json.loads(sidecar.read_text())
    assert meta[CHECKSUM_FIELD] == hashlib.sha256(good).hexdigest()
    assert engine_problem(path, key) is None

    bad = bytearray(good)
    if damage == "flip":
        bad[500] ^= 0x01
    elif damage == "truncate":
        del bad[600:]
    elif damage == "replace":
        bad = bytearray(b"plan-X from somewhere else" + bytes(974))
    path.write_bytes(bytes(bad))
    if damage == "no-checksum":
        del meta[CHECKSUM_FIELD]
        sidecar.write_text(json.dumps(meta))
    elif damage == "bad-checksum":
        sidecar.write_text(json.dumps({**meta, CHECKSUM_FIELD: "0" * 64}))
    elif damage == "deep-json":
        sidecar.write_text("[" * 100_000)

    problem = engine_problem(path, key)
    assert problem is not None
    trt.seen.clear()
    engine = load_or_build_engine(key, path, trt.build, trt.deserialize)
    assert engine == ("engine", b"plan-2"), "rebuilt"
    assert trt.seen == [path.read_bytes()], "TensorRT only ever saw the fresh build"
    assert engine_problem(path, key) is None


def test_engines_are_deserialised_only_through_the_checked_cache() -> None:
    """The only TensorRT deserialisation is export/tensorrt.py's; its users feed it cache-checked or fresh bytes."""
    raw_calls, deserializer_users = [], []
    for path, tree in _sources(PRODUCT):
        rel = str(path.relative_to(REPO))
        for _call, name in _calls(tree):
            if name.endswith("deserialize_cuda_engine"):
                raw_calls.append(rel)
            if name == "deserializer":
                deserializer_users.append(rel)
    assert raw_calls == ["thermal_synth_core/export/tensorrt.py"]
    # The backend hands it to load_or_build_engine with engine_cache_path(key, cache_dir()); export
    # deserialises the bytes it has just built, to verify them.
    assert sorted(deserializer_users) == [
        "thermal_synth_core/cli/handlers/export.py",
        "thermal_synth_core/infer/backends/tensorrt_backend.py",
    ]
    backend = (REPO / "thermal_synth_core/infer/backends/tensorrt_backend.py").read_text()
    assert "path = engine_cache_path(key, cache_dir())" in backend  # one engine per input size, each checked
    assert "load_or_build_engine(\n                    key, path," in backend
    export = (REPO / "thermal_synth_core/cli/handlers/export.py").read_text()
    assert "data = build_engine(" in export
    assert "engine = deserializer()(data)" in export


# -- 3. paths stay inside their roots -----------------------------------------------------------------

path_parts = st.one_of(
    st.sampled_from(["..", ".", "", "train", "rgb", "a.png", "link", "C:", "~", "/", "\\", "..\\..", "%2e%2e"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=6),
)
rel_paths = st.one_of(st.lists(path_parts, min_size=1, max_size=5).map("/".join), st.text(max_size=20))


@fuzz(80)
@given(paths=st.lists(rel_paths, min_size=1, max_size=3))
def test_manifest_paths_never_leave_the_dataset_root(
    tmp_path_factory: pytest.TempPathFactory, paths: list[str]
) -> None:
    from thermal_synth_core.data.manifest import read_manifest

    root = tmp_path_factory.mktemp("ds")
    (root / "train").mkdir()
    outside = root.parent / f"{root.name}-secret"
    outside.mkdir(exist_ok=True)
    (root / "train" / "link").symlink_to(outside, target_is_directory=True)
    alignment = {"matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "rgb_size": [64, 48], "thermal_size": [64, 48]}
    pairs = [{"split": "train", "id": str(i), "rgb": p, "thermal": paths[0], "mask": p} for i, p in enumerate(paths)]
    manifest = {
        "schema": "thermal-synth.prepare-manifest",
        "version": 1,
        "format": "pairs",
        "thermal_bits": 8,
        "alignment": alignment,
        "size": [64, 48],
        "pairs": pairs,
        "unpaired": [{"split": "train", "id": "u", "kind": "rgb", "path": p} for p in paths],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    try:
        m = read_manifest(root, check_files=False)
    except DataError:
        return
    resolved_root = root.resolve()
    for entry in m.pairs:
        for p in (entry.rgb, entry.thermal, entry.mask):
            assert p is not None
            assert p.resolve().is_relative_to(resolved_root), p
    for single in m.unpaired:
        assert single.path.resolve().is_relative_to(resolved_root), single.path


@fuzz(80)
@given(frame_id=st.text(max_size=40), split=st.sampled_from(["train", "val", "video"]))
def test_prepare_output_names_stay_inside_the_output_root(
    tmp_path_factory: pytest.TempPathFactory, frame_id: str, split: str
) -> None:
    """Frame ids come from dataset file names (and FLIR v2's pairing map): they never become paths."""
    from thermal_synth_core.data.prepare import _safe_id

    name = _safe_id(frame_id)
    out = Path("/data/out")
    target = out / split / "rgb" / f"{name}.png"
    assert "/" not in name
    assert "\\" not in name
    assert name not in ("", ".", "..")
    assert not name.startswith(".")
    assert os.path.normpath(target) == str(target)
    assert target.parent == out / split / "rgb"


def test_flir_v2_pairing_map_cannot_point_outside_the_dataset(tmp_path: Path) -> None:
    """The map's entries are reduced to file stems and matched against files found inside the root."""
    from thermal_synth_core.data.layouts import V2_MAP, scan_dataset
    from thermal_synth_core.data.synth import SynthOptions, generate

    root = tmp_path / "v2"
    generate(root, SynthOptions(layout="flir-v2", n=8, seed=2))
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8 not for you \xff\xd9")
    mapping = json.loads((root / V2_MAP).read_text()) if (root / V2_MAP).is_file() else {}
    mapping["../../secret.jpg"] = str(secret)
    mapping[str(secret)] = "../../../secret.jpg"
    (root / V2_MAP).write_text(json.dumps(mapping))
    resolved = root.resolve()
    for record in scan_dataset(root, "flir-v2"):
        for p in (record.rgb, record.thermal8, record.thermal16, record.mask):
            if p is not None:
                assert Path(p).resolve().is_relative_to(resolved), p
    (root / V2_MAP).write_text("[" * 100_000)
    with pytest.raises(DataError, match="not a valid JSON pairing map"):
        scan_dataset(root, "flir-v2")


# -- 4. no shell ---------------------------------------------------------------------------------

SHELL_CALLS = {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput", "commands.getoutput"}
SUBPROCESS = {
    "subprocess.run",
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
}


def test_no_subprocess_goes_through_a_shell() -> None:
    found = []
    n_calls = 0
    for path, tree in _sources(EVERYTHING):
        rel = path.relative_to(REPO)
        for call, name in _calls(tree):
            if name in SHELL_CALLS:
                found.append(f"{rel}:{call.lineno} {name} runs a shell")
            if name in SUBPROCESS or name.startswith("asyncio.create_subprocess_shell"):
                n_calls += 1
                shell = _keyword(call, "shell")
                if shell is not None and not (isinstance(shell, ast.Constant) and shell.value is False):
                    found.append(f"{rel}:{call.lineno} {name}(shell=...)")
                if call.args and isinstance(call.args[0], ast.Constant | ast.JoinedStr | ast.BinOp):
                    found.append(f"{rel}:{call.lineno} {name} with a command string")
    assert n_calls > 5, "the scan found the subprocess calls it should check"
    assert not found, "\n".join(found)


def test_the_scans_catch_what_they_look_for(tmp_path: Path) -> None:
    """The scanners themselves: planted offences are found."""
    bad = ast.parse(
        "import pickle, subprocess, torch, os\n"
        "pickle.loads(b'')\n"
        "torch.load('x')\n"
        "torch.load('x', weights_only=False)\n"
        "subprocess.run('ls', shell=True)\n"
        "os.system('ls')\n"
    )
    names = [name for _, name in _calls(bad)]
    assert "pickle.loads" in names
    torch_loads = [c for c, n in _calls(bad) if n == "torch.load"]
    assert not any(_is_true(_keyword(c, "weights_only")) for c in torch_loads)
    run = next(c for c, n in _calls(bad) if n == "subprocess.run")
    assert _is_true(_keyword(run, "shell"))
    assert "os.system" in names


def test_regressions_found_by_make_fuzz(tmp_path: Path) -> None:
    """Two defects the long fuzz run found: a NUL in a manifest path, bits flipped inside a checkpoint."""
    from thermal_synth_core.data.manifest import _safe_path
    from thermal_synth_core.train.checkpoint import load_checkpoint, save_checkpoint

    with pytest.raises(DataError, match="NUL"):
        _safe_path(tmp_path, "train/\x00", "manifest.json")
    path = tmp_path / "latest.pt"
    weights = torch.arange(40.0)
    save_checkpoint(path, {"step": 3, "task": {"w": weights}})  # type: ignore[typeddict-item]  # only what loading reads
    raw = bytearray(path.read_bytes())
    at = raw.find(weights.numpy().tobytes())  # the tensor's bytes, stored uncompressed
    assert at > 0
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(TrainingError, match="checksum mismatch"):
        load_checkpoint(path)
