#!/usr/bin/env bash
# The built book's JavaScript, served from the book itself (no CDN): MathJax renders the equations,
# RequireJS and the Jupyter widgets HTML manager render the saved ipywidgets of chapters 02-04 and 08;
# onnxruntime-web (WASM) and @huggingface/tokenizers (pure JS) run the shipped model in the page, in the
# "Try it" view of chapters 08 and 10 and the tokenizer box of chapter 02 (codegen_lib/viz/tryit.py; the
# model itself is exported into _book_assets/tryit/model/ by `codegen export-onnx`, see build_book.sh).
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
  "onnxruntime-web@1.31.1 sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
  "@huggingface/tokenizers@0.2.0 sha512-LidMHe1FpcSYH4vcSjXooda34pC0M8m1gmDOv7SQi6Iv+ib1zX7J3sHBCC9/3FPCkn2k1b55FneVqMRxrr99pg=="
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
rm -rf "$WORK/package"
# ES modules, loaded with import() by the Try it view: ORT's WASM build (single-threaded in the page) and
# the tokenizer; each with its package.json (version, licence)
mkdir -p "$DEST.tmp/tryit/ort" "$DEST.tmp/tryit/tokenizers"
tar xzf "$WORK"/onnxruntime-web-1.31.1.tgz -C "$WORK"
cp "$WORK"/package/dist/{ort.wasm.min.mjs,ort-wasm-simd-threaded.mjs,ort-wasm-simd-threaded.wasm} \
  "$WORK/package/package.json" "$DEST.tmp/tryit/ort/"
rm -rf "$WORK/package"
tar xzf "$WORK"/huggingface-tokenizers-0.2.0.tgz -C "$WORK"
cp "$WORK/package/dist/tokenizers.min.mjs" "$WORK/package/LICENSE" "$WORK/package/package.json" \
  "$DEST.tmp/tryit/tokenizers/"
printf '%s\n' "${PINS[@]}" > "$DEST.tmp/PINS"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
echo "[assets] MathJax, RequireJS, the widget manager, onnxruntime-web and tokenizers are in $DEST"
