#!/usr/bin/env bash
# The whole trace-driven LDFI loop on a real running system.
#
# Starts the demo services on loopback ports (client -> web-1|web-2 -> api-1|api-2 ->
# db-1|db-2; every caller tries replica 1 first and the other on 503 or connection
# refused), sends a few
# requests, and feeds the OTLP/JSON traces they wrote to `ldfi traces`. Then, for each
# proposed experiment, restarts the services with DEMO_FAIL set to its faults (those
# services answer 503), sends requests again and feeds those traces to
# `ldfi traces --learn`, until ldfi reports a bug or has no experiment left.
#
# The planted bug: api-1 was deployed with db-1 only (no fallback to db-2).
#
# Usage: examples/trace-demo/run-demo.sh [WORKDIR]
#   LDFI=path/to/ldfi (default: the release build, built first; CARGO_TARGET_DIR is honoured)
#   DEMO_PORT_BASE=N  (default 47310; ports N..N+5 on 127.0.0.1)
# Exit: 0 when the loop found a bug, 1 when it ran out of experiments, 2 on a setup error.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
base="${DEMO_PORT_BASE:-47310}"
requests=4
max_rounds=10

# Build a binary and print its path as cargo reports it (so CARGO_TARGET_DIR and
# build.target-dir are honoured).
built() { # MANIFEST BIN
  cargo build --release --quiet --manifest-path "$1" --bin "$2" \
    --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1
}
ldfi="${LDFI:-$(built "$root/Cargo.toml" ldfi)}"
demo="$(built "$here/Cargo.toml" trace-demo)"
for bin in "$ldfi" "$demo"; do
  [ -x "$bin" ] || { echo "run-demo: no executable at '$bin' (did the build fail?)" >&2; exit 2; }
done

port() { # the port of a service
  case "$1" in
    web-1) echo $((base)) ;; web-2) echo $((base + 1)) ;;
    api-1) echo $((base + 2)) ;; api-2) echo $((base + 3)) ;;
    db-1) echo $((base + 4)) ;; db-2) echo $((base + 5)) ;;
  esac
}
addr() { echo "$1=127.0.0.1:$(port "$1")"; }

pids=()
stop_all() {
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap stop_all EXIT

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "run-demo: nothing listens on port $1" >&2
  exit 2
}

# One round: start every service with DEMO_FAIL=$2, send requests, stop; traces in $1.
round() {
  local dir="$1" fail="$2"
  mkdir -p "$dir"
  rm -f "$dir"/*.jsonl
  start() { DEMO_FAIL="$fail" "$demo" serve "$1" "$(port "$1")" "$dir" "${@:2}" & pids+=($!); }
  start db-1
  start db-2
  start api-1 "$(addr db-1)"                    # the planted bug: no fallback to db-2
  start api-2 "$(addr db-1)" "$(addr db-2)"
  start web-1 "$(addr api-1)" "$(addr api-2)"
  start web-2 "$(addr api-1)" "$(addr api-2)"
  for s in db-1 db-2 api-1 api-2 web-1 web-2; do wait_port "$(port "$s")"; done
  "$demo" client "$requests" "$dir" "$(addr web-1)" "$(addr web-2)"
  stop_all
}

echo "== round 0: no faults"
round "$work/round-0" ""
set +e
"$ldfi" traces "$work"/round-0/*.jsonl --faults 2 --state "$work/state.json"
rc=$?
set -e
[ $rc -le 1 ] || exit 2

for n in $(seq 1 $max_rounds); do
  verdict="$("$demo" verdict "$work/state.json")"
  if [ "$verdict" = bug ]; then
    echo "== the loop found the bug after $((n - 1)) experiments (state: $work/state.json)"
    exit 0
  fi
  if [ "$verdict" != experiments ]; then
    echo "== no experiment left and no bug found (state: $work/state.json)"
    exit 1
  fi
  faults="$("$demo" faults "$work/state.json")"
  echo "== round $n: experiment 1, DEMO_FAIL=$faults"
  round "$work/round-$n" "$faults"
  set +e
  "$ldfi" traces --learn "$work/state.json" "$work"/round-$n/*.jsonl --experiment 1 --state "$work/state.json"
  rc=$?
  set -e
  [ $rc -le 1 ] || exit 2
done
echo "== stopped after $max_rounds rounds"
exit 1
