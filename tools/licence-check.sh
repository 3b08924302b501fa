#!/usr/bin/env bash
# Fails (exit 1) when a Go binary links a module that tools/not-to-use.txt
# lists (from the version it names on, or every version for `*`), printing
# each offender; silent and exit 0 when every binary is clean.
#
# Usage: bash tools/licence-check.sh <binary>...   (NOT_TO_USE=<file> to use another list)
set -euo pipefail
list="${NOT_TO_USE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/not-to-use.txt}"
(( $# > 0 )) || { echo "usage: bash tools/licence-check.sh <binary>..." >&2; exit 2; }
status=0
for binary in "$@"; do
  # `go version -m` lists the main module (mod), every linked module (dep) and replacements (=>).
  info=$(go version -m "$binary") || { echo "$binary: not a Go binary with module information" >&2; exit 2; }
  bad=$(awk -v list="$list" '
    function vcmp(a, b,   x, y, i) {
      sub(/^v/, "", a); sub(/^v/, "", b); sub(/[-+].*/, "", a); sub(/[-+].*/, "", b)
      split(a, x, "."); split(b, y, ".")
      for (i = 1; i <= 3; i++) { if (x[i] + 0 < y[i] + 0) return -1; if (x[i] + 0 > y[i] + 0) return 1 }
      return 0
    }
    BEGIN {
      while ((getline line < list) > 0) {
        if (line ~ /^[ \t]*(#|$)/) continue
        split(line, f, /[ \t]+/); from[f[1]] = f[2]
      }
    }
    $1 == "mod" || $1 == "dep" || $1 == "=>" {
      if (($2 in from) && (from[$2] == "*" || vcmp($3, from[$2]) >= 0)) print "  " $2 " " $3 " (" (from[$2] == "*" ? "every version" : "from " from[$2]) ")"
    }' <<<"$info")
  if [[ -n $bad ]]; then
    echo "$binary links modules that are not open source ($list):"
    echo "$bad"
    status=1
  fi
done
exit $status
