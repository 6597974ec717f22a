#!/usr/bin/env bash
# THE test command (README): set everything up, then run the whole pytest suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -x`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"

# Fixtures look for mosquitto in sbin; make sure it is on PATH for non-login shells.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

if (($# == 0)); then
    set -- tests
fi

# `python -m pytest` puts the repo root on sys.path so tests can import tests.support.*.
status=0
"$ROOT/.venv/bin/python" -m pytest -p no:cacheprovider "$@" || status=$?

# Exit 5 means no tests were collected: a broken selection must not look green.
if ((status == 5)); then
    printf '[test] LỖI: pytest không thu thập được bài kiểm thử nào (exit 5)\n' >&2
    exit 1
fi
exit "$status"
