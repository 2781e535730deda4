#!/usr/bin/env bash
# Fuzzes portcullis: every cargo-fuzz (libFuzzer) target for N seconds.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      # default: 60 s, every target
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a Rust toolchain; on
# stable, RUSTC_BOOTSTRAP=1 (set here) unlocks the sanitizer flags
# cargo-fuzz passes. Each target starts from its committed seeds
# (fuzz/seeds/<target>, read only) and grows its own corpus in
# fuzz/corpus/<target> (not committed). A crash leaves its input in
# fuzz/artifacts/<target>/; reproduce it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/crash-…
# and, once fixed, commit the input as fuzz/seeds/<target>/regression-<what>
# so `cargo test` (tests/protocol/fuzz_seeds.rs) replays it forever. After a
# run, fuzz/cmin.sh keeps what it found that adds coverage in the committed
# fuzz/seeds/<target>/corpus/ (read from here on too: libFuzzer reads the
# seed directory recursively).
#
# Not part of .ci/run: fuzzing needs the nightly-only sanitizer flags and is
# not deterministic; CI replays the seeds instead.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1

secs=${1:-60}
shift || true
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
  exit 2
fi
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build
failed=()
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  printf '\n==> %s (%ss)\n' "$t" "$secs"
  if cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -dict=dict/oauth.dict -print_final_stats=1 >"logs/$t.log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "logs/$t.log" | tail -n 1 || true)
  printf '%s: %s, %s executions, %s, corpus %s files\n' \
    "$t" "$status" "${runs:-?}" "${cov:-cov: ?}" "$(find "corpus/$t" -type f | wc -l)"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashes in: ${failed[*]} (see fuzz/logs/ and fuzz/artifacts/)" >&2
  exit 1
fi
echo "no crashes"
