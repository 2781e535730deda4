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
declare -A count
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
  count[$f]=$per
done

# Ratios, for the paths whose three sides were counted in this run.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
{
  echo
  echo "| path | portcullis | floor | path/floor | oxide-auth | oxide/path |"
  echo "|---|---:|---:|---:|---:|---:|"
  for p in cc code refresh introspect revoke bearer jwt_es256 jwt_eddsa \
           bearer_es256 bearer_es256_nocheck bearer_eddsa bearer_eddsa_nocheck; do
    a=${count[portcullis_$p]:-}; fl=${count[floor_$p]:-}; ox=${count[oxide_$p]:-}
    [ -n "$a" ] && [ -n "$fl" ] || continue
    case "$p" in
      jwt_*) sig=${count[sign_${p#jwt_}]:-} ;;
      bearer_es256*) sig=${count[verify_es256]:-} ;;
      bearer_eddsa*) sig=${count[verify_eddsa]:-} ;;
      *) sig= ;;
    esac
    if [ -n "$sig" ]; then
      echo "| $p | $a | $fl | $(ratio "$a" "$fl") | signature alone: $sig | path/signature: $(ratio "$a" "$sig") |"
    elif [ -n "$ox" ]; then
      echo "| $p | $a | $fl | $(ratio "$a" "$fl") | $ox | $(ratio "$ox" "$a") |"
    else
      echo "| $p | $a | $fl | $(ratio "$a" "$fl") | n/a | n/a |"
    fi
  done
} | tee -a "$summary"
echo "written to $summary"
