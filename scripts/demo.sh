#!/usr/bin/env bash
# THE demo command (README): set everything up, then run the main job `loaxa demo`.
# Extra arguments go to `loaxa demo`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
exec .venv/bin/loaxa demo "$@"
