#!/usr/bin/env bash
# The exact search's targets (BENCHMARKS.md, "Exact search"): wall time of the default
# strategy and of the exhaustive referee, side by side in one run, with their verdicts.
# Usage: benches/targets.sh [LDFI_BINARY]   (default: target/release/ldfi; build it first)
set -uo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/ldfi}"
[ -x "$bin" ] || { echo "no ldfi binary at $bin: run cargo build --release first" >&2; exit 2; }
row() { # spec nodes eot eff crashes
  local spec=$1 nodes=$2 t=$3 f=$4 c=$5 out
  printf '| %s | %s/%s/%s |' "$(basename "$spec" .ded)" "$t" "$f" "$c"
  for s in ldfi exhaustive; do
    /usr/bin/time -o /tmp/targets-time.$$ -f '%e %M' "$bin" check "$spec" -N "$nodes" -t "$t" -f "$f" \
      -c "$c" --strategy "$s" --timeout 600 >/tmp/targets.$$ 2>/dev/null || true
    out=$(tail -1 /tmp/targets-time.$$)
    verdict=$(grep -oE '^(CERTIFIED|COUNTEREXAMPLE|BUDGET)' /tmp/targets.$$ | head -1)
    size=$(grep -oE '^exact model: [0-9]+ ground tuples, [0-9]+ rule instances, [0-9]+ variables, [0-9]+ clauses' /tmp/targets.$$ \
      | sed -E 's/exact model: ([0-9]+) ground tuples, ([0-9]+) rule instances, ([0-9]+) variables, ([0-9]+) clauses/\1 atoms, \4 clauses/')
    probe=$(grep -q 'decided by the short exhaustive probe' /tmp/targets.$$ && echo ' (probe)' || true)
    printf ' %s s, %s MB, %s%s%s |' "${out% *}" "$(( ${out#* } / 1024 ))" "${verdict,,}" "$probe" "${size:+; $size}"
  done
  echo
  rm -f /tmp/targets.$$
}
echo '| spec | eot/eff/crashes | ldfi (default) | exhaustive |'
echo '|---|---|---|---|'
m=specs/consensus/paxos_molly.ded
for b in "8 3 1" "10 3 1" "12 3 1" "8 3 2" "6 3 2" "12 4 2" "15 5 2"; do row $m a,b,c $b; done
m5=specs/consensus/paxos_molly5.ded
for t in 10 12; do for f in 0 3 6; do for c in 0 1 2; do
  if [ "${SKIP_EXHAUSTIVE_SLOW:-1}" = 1 ] && { [ "$f" -gt 0 ] && [ "$c" -gt 0 ] || [ "$f" -eq 6 ]; }; then
    # exhaustive takes minutes to hours here: time the default alone
    printf '| paxos_molly5 | %s/%s/%s |' $t $f $c
    /usr/bin/time -o /tmp/targets-time.$$ -f '%e %M' "$bin" check $m5 -N a,b,c,d,e -t $t -f $f -c $c \
      --timeout 600 >/tmp/targets.$$ 2>/dev/null || true
    out=$(tail -1 /tmp/targets-time.$$)
    verdict=$(grep -oE '^(CERTIFIED|COUNTEREXAMPLE|BUDGET)' /tmp/targets.$$ | head -1)
    printf ' %s s, %s MB, %s | not run |\n' "${out% *}" "$(( ${out#* } / 1024 ))" "${verdict,,}"
    rm -f /tmp/targets.$$
  else
    row $m5 a,b,c,d,e $t $f $c
  fi
done; done; done
