#!/usr/bin/env bash
# Minimises what fuzzing found into the committed regression corpora.
#
#   fuzz/cmin.sh [MAX_FILES] [TARGET...]   # default: at most 200 files, every target
#
# For each target, the inputs grown by run.sh (fuzz/corpus/<target>, not
# committed) and the committed corpus (fuzz/seeds/<target>/corpus/) are
# measured with libFuzzer's set-cover merge (`-set_cover_merge=1`, the
# minimisation `cargo fuzz cmin` does, by edges: `-use_counters=0`), on top
# of the hand-written seeds (fuzz/seeds/<target>/*). Then, greedily, the
# input adding the most coverage the seeds and the inputs already chosen
# lack is kept, until nothing adds coverage or MAX_FILES are kept; they
# replace fuzz/seeds/<target>/corpus/. The script prints how much of the
# coverage the full corpus adds over the seeds the kept files give: the
# long tail is mostly one-edge error paths of the JSON parser, not worth
# hundreds of files.
#
# `cargo test` replays these files (tests/protocol/fuzz_seeds.rs), and
# run.sh starts from them (libFuzzer reads fuzz/seeds/<target> recursively).
# Needs cargo-fuzz and python3.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1

max=${1:-200}
shift || true
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  mkdir -p "$work/out" "$work/in" "corpus/$t"
  # The seeds are the first corpus: what they cover is covered already.
  find "seeds/$t" -maxdepth 1 -type f -exec cp {} "$work/out/" \;
  if [ -d "seeds/$t/corpus" ]; then
    cp -r "seeds/$t/corpus/." "$work/in/"
  fi
  cargo fuzz run "$t" "$work/out" "corpus/$t" "$work/in" -- \
    -set_cover_merge=1 -use_counters=0 -merge_control_file="$work/control" \
    -timeout=10 -rss_limit_mb=2048 >"$work/log" 2>&1 || {
    cat "$work/log" >&2
    exit 1
  }
  mkdir -p "$work/kept"
  printf '%s: ' "$t"
  # The control file lists the inputs (the first corpus first), then the
  # features of each input ("FT <index> <feature>...").
  python3 - "$work/control" "$max" "$work/kept" <<'EOF'
import hashlib, os, shutil, sys

control, limit, kept = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(control).read().split("\n")
count, first = int(lines[0]), int(lines[1])
files = lines[2 : 2 + count]
features = {}
for line in lines[2 + count :]:
    if line.startswith("FT "):
        parts = line.split()
        features[int(parts[1])] = set(parts[2:])
covered = set()
for i in range(first):
    covered |= features.get(i, set())
seeds = len(covered)
everything = set(covered)
for i in range(first, count):
    everything |= features.get(i, set())
left = {i: features.get(i, set()) - covered for i in range(first, count)}
chosen = []
while len(chosen) < limit and left:
    best = max(left, key=lambda i: (len(left[i]), -os.path.getsize(files[i])))
    gain = left.pop(best)
    if not gain:
        break
    covered |= gain
    chosen.append(best)
    for i in left:
        left[i] -= gain
for i in chosen:
    data = open(files[i], "rb").read()
    name = hashlib.sha1(data).hexdigest()
    shutil.copyfile(files[i], os.path.join(kept, name))
share = 100.0 * (len(covered) - seeds) / max(1, len(everything) - seeds)
print(f"{len(chosen)} files, {share:.0f}% of the coverage the corpus adds "
      f"to the seeds ({len(everything)} features, seeds alone {seeds})")
EOF
  rm -rf "seeds/$t/corpus"
  mkdir -p "seeds/$t/corpus"
  find "$work/kept" -type f -exec mv {} "seeds/$t/corpus/" \;
  bytes=$(find "seeds/$t/corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  printf '  %s bytes in fuzz/seeds/%s/corpus/\n' "$bytes" "$t"
  rm -rf "$work"
done
