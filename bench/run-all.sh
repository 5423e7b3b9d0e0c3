#!/usr/bin/env bash
# Run every benchmark under bench/ in turn (`make bench`): each bench/<area>/run.sh, then each
# bench/<name>.sh other than this file. One failing benchmark does not stop the others; the exit
# status says whether any failed. Pass settings through the environment (DURATION, DATABASE_URL, ...);
# ONLY="servers orders" runs just those (directory or file names without .sh).
set -uo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ONLY=${ONLY:-}

scripts=()
for script in "$BENCH"/*/run.sh "$BENCH"/*.sh; do
  [ -f "$script" ] || continue
  case "$script" in "$BENCH/run-all.sh" | "$BENCH/lib.sh") continue ;; esac  # not benchmarks
  scripts+=("$script")
done

selected() {  # selected SCRIPT: is it in ONLY (or is ONLY empty)?
  [ -z "$ONLY" ] && return 0
  local name
  name=$(basename "$1" .sh)
  [ "$name" = run ] && name=$(basename "$(dirname "$1")")
  [[ " $ONLY " == *" $name "* ]]
}

failed=()
for script in "${scripts[@]}"; do
  selected "$script" || continue
  echo "######## ${script#"$BENCH"/}"
  if ! bash "$script"; then
    failed+=("${script#"$BENCH"/}")
  fi
  echo
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: failed: ${failed[*]}" >&2
  exit 1
fi
echo "bench: all benchmarks ran"
