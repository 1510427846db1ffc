#!/usr/bin/env bash
# The built book's JavaScript, served from the book itself (no CDN): MathJax renders the equations,
# RequireJS and the Jupyter widgets HTML manager render the saved ipywidgets of chapters 02-04 and 08.
# Fetched from the npm registry with npm itself (pinned versions, checked against pinned sha512 sums) and
# unpacked into _book_assets/ (git-ignored), which _config.yml copies into the built book's _static/
# (html_static_path) and points at (mathjax_path, nb_ipywidgets_js). Not named _static: Jupyter Book
# would add every .js file under a _static folder to every page. Idempotent:
# a second run with the same pins does nothing. Called by scripts/build_book.sh and by tests/test_book.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/_book_assets"

# name@version  sha512 (npm's "integrity" of the tarball)
PINS=(
  "mathjax@3.2.2 sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
  "@jupyter-widgets/html-manager@1.0.15 sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA=="
  "requirejs@2.3.7 sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw=="
)
STAMP="$(printf '%s\n' "${PINS[@]}")"
if [ -f "$DEST/PINS" ] && [ "$(cat "$DEST/PINS")" = "$STAMP" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "[assets] npm is needed to fetch MathJax and the widget manager (apt-get install npm)" >&2
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for pin in "${PINS[@]}"; do
  spec="${pin%% *}"
  want="${pin##* }"
  echo "[assets] npm pack $spec"
  got="$(cd "$WORK" && npm pack "$spec" --json --silent | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["integrity"])')"
  if [ "$got" != "$want" ]; then
    echo "[assets] $spec: integrity $got differs from the pinned $want" >&2
    exit 1
  fi
done

rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp/mathjax" "$DEST.tmp/html-manager" "$DEST.tmp/requirejs"
tar xzf "$WORK"/mathjax-3.2.2.tgz -C "$WORK" && cp -r "$WORK/package/es5" "$DEST.tmp/mathjax/" && rm -rf "$WORK/package"
tar xzf "$WORK"/jupyter-widgets-html-manager-1.0.15.tgz -C "$WORK"
cp "$WORK"/package/dist/embed-amd.js "$WORK"/package/dist/*.{eot,svg,ttf,woff,woff2} "$DEST.tmp/html-manager/"
rm -rf "$WORK/package"
tar xzf "$WORK"/requirejs-2.3.7.tgz -C "$WORK" && cp "$WORK/package/require.js" "$DEST.tmp/requirejs/"
printf '%s\n' "${PINS[@]}" > "$DEST.tmp/PINS"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
echo "[assets] MathJax, RequireJS and the widget manager are in $DEST"
