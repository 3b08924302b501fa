#!/usr/bin/env bash
# npm run package [-- -o DIR]: the construct package for every target this
# machine can build (see README, Packages): the npm tarball and the Python
# wheel and sdist, with the README's TypeScript samples translated for each
# language by jsii-rosetta (without the tablet, pacmak would copy TypeScript
# into the Python README).
set -euo pipefail
cd "$(dirname "$0")/.."
outdir=dist
if [ "${1:-}" = "-o" ]; then outdir="$2"; fi
npx jsii-rosetta extract --compile --fail --output .jsii.tabl.json .jsii
npx jsii-pacmak --targets js python --rosetta-tablet .jsii.tabl.json -o "$outdir"
