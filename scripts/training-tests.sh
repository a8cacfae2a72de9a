#!/usr/bin/env bash
# The training code's tests (training/tests/), which need numpy and Pillow but not torch: CI
# never trains, yet checks that training cuts the tiles the service cuts. Their venv goes to
# .cache/training-tests-venv with the versions training/requirements.txt pins (a stamp of
# those lines skips the install when nothing changed).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.cache/training-tests-venv"
pins="$(grep -E '^(numpy|pillow)==' "$root/training/requirements.txt")"
stamp="$venv/.pins"

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$pins" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one requirement per word
    timeout 600 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $pins
    echo "$pins" > "$stamp"
fi
cd "$root"
"$venv/bin/python" -m unittest discover --start-directory training/tests --top-level-directory . "$@"
