#!/usr/bin/env bash
# Instructions per operation for every workload of the performance suite,
# counted by callgrind (repeatable, unlike times on a shared machine).
#
#   bash benches/instructions.sh                # every function
#   bash benches/instructions.sh portcullis_cc floor_cc
#   N=5000 bash benches/instructions.sh ...     # operations per count
#
# Each function runs in its own process: built, warmed up, then
# `measure_ops` is called with 0 and with N operations; callgrind counts
# only inside that function and dumps after each call. Per operation:
# (Ir(N) - Ir(0)) / N. Writes target/instructions/summary.md.
#
# Under valgrind, ring does not see SHA-NI or AVX-512 and uses its AVX2/SSSE3
# code, and the kernel's share of a syscall (getrandom) is not counted: the
# counts compare code paths, they are not a time in disguise.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-2000}
N_SLOW=${N_SLOW:-200}   # for the signature paths
out=target/instructions
mkdir -p "$out"

cargo bench --bench instructions --no-run 2>/dev/null
bin=$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | grep instructions | tail -n 1)
[ -x "$bin" ] || { echo "instructions binary not found" >&2; exit 1; }

if [ "$#" -gt 0 ]; then
  functions=("$@")
else
  mapfile -t functions < <(sed -n '/^pub const FUNCTIONS/,/^];/p' benches/common/mod.rs \
    | sed -n 's/^ *"\([a-z0-9_]*\)",$/\1/p')
fi

# Ir of one dump file (the totals line; with --toggle-collect only the
# collected part).
ir() { awk '/^(totals|summary):/ {print $2; exit}' "$1"; }

summary="$out/summary.md"
{
  echo "| function | instructions / op | ops counted |"
  echo "|---|---:|---:|"
} >"$summary"
for f in "${functions[@]}"; do
  case "$f" in
    *jwt*|*es256*|*eddsa*) n=$N_SLOW ;;
    *) n=$N ;;
  esac
  rm -f "$out/$f".cg*
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect='instructions::measure_ops' \
    --dump-after='instructions::measure_ops' --callgrind-out-file="$out/$f.cg" \
    "$bin" "$f" "$n" >/dev/null 2>"$out/$f.valgrind.log"
  # Dumps in call order: .1 is the 0-run baseline, .2 the n-run call.
  base=$(ir "$out/$f.cg.1")
  full=$(ir "$out/$f.cg.2")
  per=$(( (full - base) / n ))
  printf '%-36s %12s instructions/op  (n=%s, baseline %s)\n' "$f" "$per" "$n" "$base"
  echo "| $f | $per | $n |" >>"$summary"
done
echo "written to $summary"
