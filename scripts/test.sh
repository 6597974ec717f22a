#!/usr/bin/env bash
# THE test command (README): set everything up, then run the whole pytest suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -x`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"

# Fixtures look for mosquitto in sbin; make sure it is on PATH for non-login shells.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# The whole suite runs on one worker per core (pytest-xdist): much of it waits on brokers, databases, ffmpeg and
# browsers, so two workers on two cores finish it in about two thirds of the time. Tests of one `xdist_group`
# share a worker (the chaos run and other timing-bound process tests never run side by side). Explicit arguments
# run as given, in one process; LOAXA_TEST_WORKERS=0 does the same for the whole suite.
if (($# == 0)); then
    workers="${LOAXA_TEST_WORKERS:-auto}"
    if [[ "$workers" == "0" ]]; then
        set -- --durations=25 tests
    else
        set -- -n "$workers" --dist loadgroup --durations=25 tests
    fi
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
