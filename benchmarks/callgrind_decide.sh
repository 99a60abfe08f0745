#!/usr/bin/env bash
# Instructions per decision on the in-memory store, under callgrind (repeatable on a noisy machine).
#
#   benchmarks/callgrind_decide.sh SRC_DIR SCENARIO N [PYTHON]
#
# SRC_DIR: the src/ folder of the careaccess tree to measure (e.g. a worktree of an older
# commit, to compare); SCENARIO: obj_open obj_until text_open text_until digits_open short_open text_clock unknown
# many100; N: calls. Prints the scenario and callgrind's instruction count per call (N calls
# minus 0 calls, so start-up is not counted).
set -euo pipefail
src=$1; scenario=$2; calls=$3; python=${4:-python3}
here=$(cd "$(dirname "$0")" && pwd)
ir() {
  PYTHONPATH=$src valgrind --tool=callgrind --callgrind-out-file=/dev/null "$python" "$here/callgrind_decide.py" "$scenario" "$1" 2>&1 \
    | grep -o "Collected : [0-9]*" | grep -o "[0-9]*"
}
base=$(ir 0); total=$(ir "$calls")
echo "$scenario $(( (total - base) / calls ))"
