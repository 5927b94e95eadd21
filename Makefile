# thermal-synth: the two commands a new user runs are `make demo` and `make test`.
#
# `make install` creates .venv and installs everything from scratch: torch==2.13.0
# first (a looser torch requirement would pull a multi-GB CUDA build here), then
# this package editable with the ros and dev extras, then tensorrt-stubs without
# its dependencies (they point at NVIDIA's package index). A stamp file makes a
# second `make install` take seconds when nothing changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.thermal-synth-installed
TORCH_VERSION := 2.13.0
TRT_STUBS_VERSION := 10.13.0.35.1
# tensorrt-stubs 10.x (all published versions) has two syntax errors that stop mypy from reading
# it at all: parameters named `in`, and a required parameter after defaulted ones. Fix them in place.
TRT_STUBS_FIX := s/(\(self(: IPluginV3)?, )in: /\1in_: /; s/channel_axis: int\) -> IScaleLayer/channel_axis: int = ...) -> IScaleLayer/
# The slowest tests are listed at the end of every run, so CI time stays visible.
PYTEST_ARGS ?= --durations=15
# make soak: node soak run (seconds, output folder); make fuzz: hypothesis examples x FUZZ_SCALE.
SOAK_SECONDS ?= 600
SOAK_OUT ?= bench/results
FUZZ_SCALE ?= 40

# Fast DDS transports: every process of the package selects its shipped XML profile itself
# (thermal_synth_ros/fastdds_profile.xml) unless FASTDDS_BUILTIN_TRANSPORTS or
# FASTDDS_DEFAULT_PROFILES_FILE is set, so nothing is exported here.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install test lint typecheck pytest demo bench default-model soak fuzz clean help

help:
	@echo "make demo     install if needed, then run the whole system on the embedded model (demo_out/)"
	@echo "make test     install if needed, then ruff, mypy and pytest"
	@echo "make install  create .venv and install everything (idempotent)"
	@echo "make lint     ruff check + format check"
	@echo "make bench    run every benchmark, JSON results under bench/results/"
	@echo "make default-model  retrain the embedded demo model from procedural scenes (~30 min on 2 CPU cores)"
	@echo "make soak     run the node for SOAK_SECONDS (600) on a 30 Hz camera; JSON + PNG in SOAK_OUT"
	@echo "make fuzz     the fuzz and security tests with FUZZ_SCALE (40) times the examples of make test"

install: $(STAMP)

$(STAMP): setup.py setup.cfg pyproject.toml package.xml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "setuptools>=64,<80" wheel
	$(PY) -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(PY) -m pip install --quiet --no-build-isolation -e ".[ros,dev]"
	$(PY) -m pip install --quiet --no-deps "tensorrt-stubs==$(TRT_STUBS_VERSION)"
	sed -i -E '$(TRT_STUBS_FIX)' "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/tensorrt_bindings/tensorrt.pyi"
	@touch $(STAMP)
	@echo "installed into $(VENV)"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy
	cd launch && ../$(VENV)/bin/mypy --config-file ../pyproject.toml --strict synth.launch.py

pytest: install
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

demo: install
	$(VENV)/bin/thermal-synth demo --out demo_out

bench: install
	$(VENV)/bin/thermal-synth bench all --out bench/results

# The embedded default model: procedural FLIR-v1-style scenes -> prepare at 320x256 with the
# rig's alignment -> training/configs/default_model.yaml -> package data. For demonstration only.
DEFAULT_MODEL_DIR := build/default_model
default-model: install
	$(VENV)/bin/thermal-synth synth-data --out $(DEFAULT_MODEL_DIR)/raw --layout flir-v1 --n 600 --seed 7
	$(VENV)/bin/thermal-synth prepare --root $(DEFAULT_MODEL_DIR)/raw --format flir-v1 --size 320x256 \
		--alignment $(DEFAULT_MODEL_DIR)/raw/ground_truth_alignment.yaml --out $(DEFAULT_MODEL_DIR)/prepared
	$(PY) -m training.train --config training/configs/default_model.yaml \
		data.root=$(DEFAULT_MODEL_DIR)/prepared out_dir=$(DEFAULT_MODEL_DIR)/run
	cp $(DEFAULT_MODEL_DIR)/run/best.safetensors thermal_synth_core/assets/default_model.safetensors

soak: install
	$(PY) -m thermal_synth_ros.soak --duration $(SOAK_SECONDS) --out $(SOAK_OUT)

fuzz: install
	HYPOTHESIS_PROFILE=fuzz FUZZ_SCALE=$(FUZZ_SCALE) $(PY) -m pytest tests/robust -k "fuzz or security" \
		--hypothesis-show-statistics -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf build install log .pytest_cache .mypy_cache .ruff_cache
