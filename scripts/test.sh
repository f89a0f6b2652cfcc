#!/usr/bin/env bash
# `make test`: install what the tests need, then run the whole suite on SQLite and on PostgreSQL
# (a throwaway cluster in a temporary directory, removed afterwards whatever happens), with the
# browser tests in Debian's headless Chromium. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

pg_bindir() {
  local initdb
  initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$initdb" ] && dirname "$initdb"
}

system_packages() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ -n "$(pg_bindir)" ] || missing+=(postgresql)
  fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core fontconfig)
  # Chinese names (one of the six UN languages) need a CJK font, in the browser as in PDFs.
  fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing+=(fonts-noto-cjk)
  ldconfig -p 2>/dev/null | grep -q libpango-1.0 || missing+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
    exit 1
  fi
  log "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

python_packages() {
  log "Python packages"
  make --no-print-directory install-test
}

# pytest exits 5 when it selects no test: an error for the whole suite, but expected when the
# arguments given (`-k resolver`) select tests of one kind only.
selected() {
  local rc=0
  "$@" || rc=$?
  if [ "$rc" -eq 5 ] && [ ${#PYTEST_ARGS[@]} -gt 0 ]; then return 0; fi
  return "$rc"
}

# Three streams run side by side, each in its own process with its own files and database:
# - the suite without a browser on SQLite;
# - the same suite on PostgreSQL;
# - the browser tests (headless Debian Chromium), on SQLite and then on PostgreSQL, and then
#   PostgreSQL's crawl (MOVED, below).
# The first two keep a core busy each; the browser tests mostly wait on the page (about 0.6 of a
# core), so beside them they cost little and no longer add their time to the others'.
# Each stream's output is shown when all have ended.
stream() {
  local name=$1 database=$2
  shift 2
  (
    export COOPMATRIX_VAR_DIR="$COOPMATRIX_VAR_DIR/$name"
    mkdir -p "$COOPMATRIX_VAR_DIR"
    if [ "$database" = sqlite ]; then unset DATABASE_URL; else export DATABASE_URL="$database"; fi
    # The slowest tests are named at the end: the whole run is to stay under half an hour.
    selected .venv/bin/pytest -q -p no:cacheprovider --durations=15 --durations-min=5 \
      --basetemp="$COOPMATRIX_VAR_DIR/pytest" "$@" "${PYTEST_ARGS[@]}"
  )
}

#: The crawl of every link and filter on PostgreSQL runs in the browser tests' stream, after them:
#: that stream ends first otherwise, and PostgreSQL's suite (the slowest) last, alone.
MOVED=tests/test_crawl.py

browser_stream() {
  local database="${DATABASE_URL%/*}/coopmatrix_browser"
  log "Browser tests (headless Debian Chromium) on SQLite"
  stream browser-sqlite sqlite -m browser || return 1
  log "Browser tests (headless Debian Chromium) on $1"
  # A database of its own: the PostgreSQL suite without a browser runs at the same time.
  stream browser-postgresql "$database" -m browser || return 1
  log "The crawl ($MOVED) on $1"
  stream crawl-postgresql "$database" -m "not browser" "$MOVED"
}

all_suites() {
  local pg_label=$1 name failed=() pids=() logs=()
  declare -A titles=(
    [sqlite]="Test suite on SQLite"
    [postgresql]="Test suite on $pg_label"
    [browser]="Browser tests, then the crawl on PostgreSQL"
  )
  log "Test suites on SQLite, on $pg_label, and the browser tests, side by side"
  for name in sqlite postgresql browser; do
    logs+=("$(mktemp -t "coopmatrix-$name.XXXXXX")")
  done
  stream sqlite sqlite -m "not browser" >"${logs[0]}" 2>&1 &
  pids+=($!)
  stream postgresql "$DATABASE_URL" -m "not browser" --ignore="$MOVED" >"${logs[1]}" 2>&1 &
  pids+=($!)
  browser_stream "$pg_label" >"${logs[2]}" 2>&1 &
  pids+=($!)
  local i=0
  for name in sqlite postgresql browser; do
    if ! wait "${pids[$i]}"; then failed+=("$name"); fi
    log "${titles[$name]}"
    cat "${logs[$i]}"
    rm -f "${logs[$i]}"
    i=$((i + 1))
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "Failed: ${failed[*]}" >&2
    exit 1
  fi
}

PG_DIR=""
PG_BIN=""
COOPMATRIX_VAR_DIR=""
cleanup() {
  stop_postgres
  if [ -n "$COOPMATRIX_VAR_DIR" ]; then rm -rf "$COOPMATRIX_VAR_DIR"; fi
}
trap cleanup EXIT

stop_postgres() {
  if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  PG_BIN=$(pg_bindir)
  PG_DIR=$(mktemp -d -t coopmatrix-pg.XXXXXX)
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PG_DIR"; fi
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -o \
    "-k $PG_DIR -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
  local host
  host=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PG_DIR")
  export DATABASE_URL="postgres://postgres@${host}/coopmatrix"
}

PYTEST_ARGS=("$@")
system_packages
python_packages

log "Lint and layout (ruff), types (mypy on core) and layers (import-linter)"
.venv/bin/ruff check .
.venv/bin/ruff format --check --quiet . || { .venv/bin/ruff format --diff . | head -50; exit 1; }
.venv/bin/mypy --no-error-summary
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache

export COOPMATRIX_VAR_DIR
COOPMATRIX_VAR_DIR=$(mktemp -d -t coopmatrix-var.XXXXXX)

unset DATABASE_URL
start_postgres
all_suites "PostgreSQL ($("$PG_BIN/postgres" --version))"
log "All suites passed"
