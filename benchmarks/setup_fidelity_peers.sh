#!/usr/bin/env bash
# Venvs for the systems benchmarks/fidelity.py compares with, one each (their pins conflict):
#   gretel-synthetics' DGAN  ${PEER_VENV:-/tmp/peer-venv}  (../shared/bench/setup_peer.sh)
#   SDV's PARSynthesizer     ${SDV_VENV:-/tmp/sdv-venv}    (sdv 2.0.0)
#   MOSTLY AI's TabularARGN  ${ARGN_VENV:-/tmp/argn-venv}  (mostlyai-engine 2.7.3)
# torch comes first in each, as the CPU build on this machine's disk (a plain dependency
# on torch would download a CUDA build of several GB).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
bash "$HERE/../../shared/bench/setup_peer.sh"
SDV=${SDV_VENV:-/tmp/sdv-venv}
if ! "$SDV/bin/python" -c "import sdv.sequential" 2>/dev/null; then
    python3 -m venv "$SDV"
    "$SDV/bin/pip" install -q torch==2.13.0
    "$SDV/bin/pip" install -q sdv==2.0.0
fi
echo "$SDV"
ARGN=${ARGN_VENV:-/tmp/argn-venv}
if ! "$ARGN/bin/python" -c "import mostlyai.engine" 2>/dev/null; then
    python3 -m venv "$ARGN"
    "$ARGN/bin/pip" install -q torch==2.13.0
    "$ARGN/bin/pip" install -q mostlyai-engine==2.7.3
    # The index's builds of these are linked against CUDA and break the engine's import;
    # it does not use them.
    "$ARGN/bin/pip" uninstall -q -y torchvision torchaudio || true
fi
echo "$ARGN"
