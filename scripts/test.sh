#!/usr/bin/env bash
# The project's one test command (README "Tests"; .ci/run calls it). On a fresh machine it installs
# everything the suite needs — system libraries, a virtualenv, the CPU torch build, the package with
# all extras — then runs lint, type checks and the tests that are not marked slow.
set -euo pipefail
cd "$(dirname "$0")/.."

# opencv (pulled in by the OCR extra) needs libGL and glib at import time.
missing=()
ldconfig -p | grep -q 'libGL.so.1' || missing+=(libgl1)
ldconfig -p | grep -q 'libglib-2.0.so.0' || missing+=(libglib2.0-0)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
python -m pip install -q --upgrade pip
# Exactly this torch: a CPU build is on disk here; any other spec pulls GBs of CUDA wheels.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[dev,onnx,openvino,retrieval]"
# open_clip ships the CLIP BPE vocabulary and model configs the tests build tiny models from.
# --no-deps: its torchvision dependency cannot be installed next to the CPU torch here.
python -m pip install -q --no-deps "open_clip_torch==3.3.0"

ruff check src tests benchmarks
ruff format --check src tests benchmarks
mypy
python -m pytest -m "not slow" -q "$@"
