#!/bin/sh
# Shape of the C sources: `tools/format.sh check` lists every line over 120 columns (exit 1 if any);
# `tools/format.sh fix [FILE...]` has clang-format (.clang-format, the house style) rewrite only
# those lines' statements, so the compact forms the house style keeps elsewhere stay as written;
# `tools/format.sh all FILE...` formats whole files (for new ones). Used by `make format(-check)`.
set -eu
cd "$(dirname "$0")/.."
mode=${1:-check}
[ $# -gt 0 ] && shift
files=${*:-$(git ls-files '*.c' '*.h')}
long() { awk 'length > 120 { print FILENAME ":" FNR ": " length " columns" }' $files; }
case "$mode" in
  check)
    out=$(long)
    [ -z "$out" ] && { echo "format: no line over 120 columns"; exit 0; }
    echo "$out"; echo "format: $(echo "$out" | wc -l) line(s) over 120 columns: run make format" >&2; exit 1 ;;
  fix|all)
    command -v clang-format >/dev/null || { echo "format: needs clang-format (apt-get install clang-format)" >&2; exit 2; }
    for f in $files; do
      if [ "$mode" = all ]; then clang-format -i "$f"; continue; fi
      lines=$(awk 'length > 120 { printf " --lines=%d:%d", FNR, FNR }' "$f")
      [ -n "$lines" ] && clang-format -i $lines "$f"
    done
    tools/format.sh check $files ;;
  *) echo "usage: tools/format.sh check|fix|all [FILE...]" >&2; exit 2 ;;
esac
