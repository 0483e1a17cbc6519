#!/usr/bin/env bash
# Run benchmarks with their peers installed in build/bench-venv (never in .venv).
#
#   bash bench/run.sh [NAME ...] [-- OPTIONS]    python -m bench.NAME OPTIONS, for each NAME in turn
#   bash bench/run.sh all [-- OPTIONS]           every benchmark of BENCHMARKS below (make bench)
#   bash bench/run.sh --runs 2                   no NAME: bench.enumerate_scan, as before
#
# NAME is a module bench/NAME.py (see its --help). OPTIONS after `--` go to every NAME given. A NAME of
# BENCHMARKS whose module does not exist (yet) is skipped with a message; `all` fails when one of the
# benchmarks that ran failed, after running the others.
#
# Makes build/bench-venv from requirements/bench.txt (sslyze) when it is missing or older than
# that file, installs testssl.sh from apt when it is missing and this is root (skipped otherwise;
# the benchmark then says testssl was skipped), then runs each benchmark under a hard time bound
# (BENCH_TIMEOUT seconds each, default 3600).
set -euo pipefail
cd "$(dirname "$0")/.."

# Every benchmark, in the order `all` runs them: the one list (docs/benchmarks.md describes each).
BENCHMARKS=(enumerate_scan fleet_call log_read diagnose_fleet)

BENCH_VENV=build/bench-venv
STAMP=$BENCH_VENV/.installed-bench
PYTHON=${PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
BOUND=${BENCH_TIMEOUT:-3600}

names=()
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; break ;;
    -*) break ;;                       # options without NAME: enumerate_scan's, as before
    all) names+=("${BENCHMARKS[@]}"); shift ;;
    *)
      if ! [[ $1 =~ ^[a-z][a-z0-9_]*$ ]]; then
        echo "bench/run.sh: '$1' is not a benchmark name (a module bench/NAME.py; all = ${BENCHMARKS[*]})" >&2
        exit 2
      fi
      names+=("$1"); shift ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(enumerate_scan)

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

failed=()
ran=0
for name in "${names[@]}"; do
  if [ ! -f "bench/$name.py" ]; then
    echo "== bench.$name: skipped (bench/$name.py does not exist in this tree)"
    continue
  fi
  echo "== bench.$name $*"
  ran=$((ran + 1))
  # SIGTERM first (the benchmark stops what it started), SIGKILL 30 s later.
  rc=0
  timeout --kill-after=30 "$BOUND" "$BENCH_VENV/bin/python" -m "bench.$name" "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 124 ] && echo "== bench.$name: ran past BENCH_TIMEOUT=${BOUND}s" >&2
    failed+=("$name (exit $rc)")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED: ${failed[*]}" >&2
  exit 1
fi
[ "$ran" -gt 0 ] || { echo "bench/run.sh: no benchmark ran (${names[*]})" >&2; exit 1; }
echo "== done: $ran benchmark(s) passed"
