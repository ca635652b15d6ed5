#!/usr/bin/env bash
# The project's one test command (README "Tests"; .ci/run calls it). On a fresh machine it installs
# everything the suite needs — system libraries, a virtualenv, torch 2.14.1 with torchvision 0.29.1, the
# package with all extras — then runs lint, type checks and the tests that are not marked slow.
set -euo pipefail
cd "$(dirname "$0")/.."

# opencv (pulled in by the OCR extra) needs libGL and glib at import time.
missing=()
ldconfig -p | grep -q 'libGL.so.1' || missing+=(libgl1)
ldconfig -p | grep -q 'libglib-2.0.so.0' || missing+=(libglib2.0-0)
# espeak-ng synthesizes the real speech the audio decoding and CLAP tests embed.
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
# The web console's end-to-end tests drive Debian's Chromium (Playwright cannot download a browser
# here) inside a private network namespace that `ip` brings loopback up in.
command -v chromium >/dev/null || missing+=(chromium)
command -v ip >/dev/null || missing+=(iproute2)
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
# torch and torchvision are pinned as a pair (torchvision's ops are built against one torch); both
# come from wheels on this machine's disk. They are the standard builds and run on a CPU-only host.
python -m pip install -q "torch==2.14.1" "torchvision==0.29.1" -e ".[dev,onnx,openvino,retrieval,open_clip,ray]"
# langchain-cohere (CohereEmbeddings in the compatibility suite) declares cohere<6, which would put
# the cohere SDK two majors back under every SDK test. It runs on cohere 7 (the suite shows it), so
# it comes without its declared dependencies; langchain-core arrives with langchain-openai.
python -m pip install -q --no-deps "langchain-cohere>=0.6"
# LlamaIndex's CohereRerank (tests/api/test_rerank_clients.py) declares cohere<7, so pip would take
# cohere back to 6.1 and pydantic down a minor; its code runs on cohere 7 (that test shows it), and
# llama-index-core and tenacity arrive with llama-index-embeddings-openai.
python -m pip install -q --no-deps "llama-index-postprocessor-cohere-rerank>=0.10"

ruff check src tests benchmarks
ruff format --check src tests benchmarks
mypy
python -m pytest -m "not slow" -q "$@"
