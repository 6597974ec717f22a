#!/usr/bin/env bash
# Shared set-up for scripts/test.sh and scripts/demo.sh on Debian 12 (root, Python 3.11).
# Installs the system packages LoaXa needs when they are missing, creates the project venv
# .venv and pip-installs the project into it, then `npm ci` of the web app's libraries in frontend/.
# Idempotent: a second run only checks, and skips pip when pyproject.toml is unchanged (hash stamp kept
# inside .venv) and npm when frontend/package-lock.json is (stamp inside frontend/node_modules).
# Works non-interactively (CI=true, no stdin). Logs go to stderr so callers' stdout stays clean.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.loaxa-install.sha256"
FRONTEND="$ROOT/frontend"
PYTHON="${LOAXA_PYTHON:-python3.11}"

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] LỖI: %s\n' "$*" >&2; exit 1; }

# sbin holds mosquitto; root shells usually have it on PATH, CI shells not always.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

has_cmd() { command -v "$1" >/dev/null 2>&1; }

# A PostgreSQL server (initdb + postgres) is needed by the database tests.
has_postgres_server() {
    local bindir=""
    if has_cmd pg_config; then bindir="$(pg_config --bindir 2>/dev/null || true)"; fi
    if [[ -n "$bindir" && -x "$bindir/initdb" && -x "$bindir/postgres" ]]; then return 0; fi
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

# Debian's python3.11 has no venv/ensurepip unless python3.11-venv is installed.
has_python_venv() { "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; }

missing_packages() {
    local -a pkgs=()
    has_cmd ffmpeg && has_cmd ffprobe || pkgs+=(ffmpeg)
    has_cmd mosquitto && has_cmd mosquitto_passwd || pkgs+=(mosquitto)
    has_cmd mosquitto_pub && has_cmd mosquitto_sub || pkgs+=(mosquitto-clients)
    has_cmd espeak-ng || pkgs+=(espeak-ng)
    has_cmd icecast2 || pkgs+=(icecast2)  # live broadcasts and relays are served by a private Icecast
    has_cmd nats-server || pkgs+=(nats-server)  # the clustered broker of a multi-machine set-up
    has_cmd shellcheck || pkgs+=(shellcheck)  # the suite lints these scripts
    [[ -x /usr/bin/chromium ]] || pkgs+=(chromium)  # the web tests drive Debian's Chromium
    has_cmd npm || pkgs+=(npm)  # installs the web app's front-end libraries (frontend/package-lock.json)
    has_postgres_server || pkgs+=(postgresql)
    if ! has_cmd "$PYTHON"; then
        pkgs+=(python3.11 python3.11-venv)
    elif ! has_python_venv; then
        pkgs+=(python3.11-venv)
    fi
    printf '%s\n' "${pkgs[@]}"
}

install_system_packages() {
    local -a pkgs
    mapfile -t pkgs < <(missing_packages | sed '/^$/d')
    if ((${#pkgs[@]} == 0)); then
        return 0
    fi
    log "installing Debian packages: ${pkgs[*]}"
    local -a sudo=()
    if ((EUID != 0)); then
        has_cmd sudo || die "cần quyền root để cài gói hệ thống: ${pkgs[*]}"
        sudo=(sudo -n)
    fi
    has_cmd apt-get || die "không tìm thấy apt-get; hãy tự cài: ${pkgs[*]}"
    # apt-get update once, only because something is missing.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${pkgs[@]}" </dev/null >&2
    local -a still
    mapfile -t still < <(missing_packages | sed '/^$/d')
    ((${#still[@]} == 0)) || die "vẫn thiếu sau khi cài: ${still[*]}"
}

venv_works() { [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; }

ensure_venv() {
    if venv_works; then
        return 0
    fi
    log "creating virtual environment $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
}

# The stamp covers pyproject.toml and the interpreter, so a changed dependency or a new Python
# triggers a reinstall; a deleted console script does too.
install_hash() {
    {
        sha256sum "$ROOT/pyproject.toml"
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

ensure_python_packages() {
    local want
    want="$(install_hash)"
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/loaxa" ]]; then
        return 0
    fi
    log "pip install -e '.[test]' (pyproject.toml changed or first run)"
    local pip_log="$VENV/.loaxa-pip.log"
    # pip is chatty even with -q: keep its output in a log and show it only on failure.
    if ! (cd "$ROOT" && "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]' \
        </dev/null >"$pip_log" 2>&1); then
        tail -n 40 "$pip_log" >&2
        die "pip install thất bại; xem $pip_log"
    fi
    printf '%s\n' "$want" >"$STAMP"
}

# The web app's front-end libraries (htmx, Leaflet, the font, Swagger UI, axe-core), pinned by the lockfile: `npm ci`
# when node_modules is missing or the lockfile changed (hash stamp kept inside node_modules). No install scripts run.
frontend_hash() { cat "$FRONTEND/package.json" "$FRONTEND/package-lock.json" | sha256sum | cut -d' ' -f1; }

ensure_frontend_packages() {
    [[ -f "$FRONTEND/package-lock.json" ]] || return 0
    local want stamp="$FRONTEND/node_modules/.loaxa-npm.sha256"
    want="$(frontend_hash)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    log "npm ci in frontend/ (package-lock.json changed or first run)"
    local npm_log="$VENV/.loaxa-npm.log"
    if ! (cd "$FRONTEND" && npm ci --ignore-scripts --no-audit --no-fund </dev/null >"$npm_log" 2>&1); then
        tail -n 40 "$npm_log" >&2
        die "npm ci thất bại; xem $npm_log"
    fi
    printf '%s\n' "$want" >"$stamp"
}

main() {
    install_system_packages
    ensure_venv
    ensure_python_packages
    ensure_frontend_packages
}

main "$@"
