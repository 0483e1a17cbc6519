#!/usr/bin/env bash
# Run a benchmark with its peers installed in build/bench-venv (never in .venv).
#
#   bash bench/run.sh [OPTIONS]      python -m bench.enumerate_scan OPTIONS (see --help)
#
# Makes build/bench-venv from requirements/bench.txt (sslyze) when it is missing or older than
# that file, installs testssl.sh from apt when it is missing and this is root (skipped otherwise;
# the benchmark then says testssl was skipped), then runs the benchmark under a hard time bound.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_VENV=build/bench-venv
STAMP=$BENCH_VENV/.installed-bench
PYTHON=${PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
BOUND=${BENCH_TIMEOUT:-1200}

if [ ! -x "$BENCH_VENV/bin/python" ]; then
  echo "== creating $BENCH_VENV with $PYTHON ($("$PYTHON" -V 2>&1))"
  rm -rf "$BENCH_VENV"
  "$PYTHON" -m venv "$BENCH_VENV"
fi
if [ ! -e "$STAMP" ] || [ requirements/bench.txt -nt "$STAMP" ]; then
  echo "== installing requirements/bench.txt into $BENCH_VENV"
  timeout 600 "$BENCH_VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements/bench.txt
  touch "$STAMP"
fi
if ! command -v testssl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing testssl.sh from apt"
  export DEBIAN_FRONTEND=noninteractive
  if ! timeout 300 apt-get install -y -q --no-install-recommends testssl.sh >/dev/null; then
    timeout 300 apt-get update -q >/dev/null || true
    timeout 300 apt-get install -y -q --no-install-recommends testssl.sh >/dev/null \
      || echo "== testssl.sh could not be installed: the benchmark runs without it"
  fi
fi
for tool in nginx openssl; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] \
    || { echo "bench/run.sh: $tool is missing (make deps installs it)" >&2; exit 1; }
done

# SIGTERM first (the benchmark stops the lab, the relay and the tools), SIGKILL 30 s later.
exec timeout --kill-after=30 "$BOUND" "$BENCH_VENV/bin/python" -m bench.enumerate_scan "$@"
