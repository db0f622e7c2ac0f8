#!/bin/sh
# Runs a command with Node >= 22.18 first on PATH (node:sqlite, current LangChain and vitest need it, and
# 22.18 is the first Node that strips TypeScript types by default, which `npm start` and the CLI rely on).
# When the node on PATH is older, the official binary from the npm registry package node-<os>-<arch>@24
# is installed once into a cache directory and used instead, so `npm start` and `npm test` work on a
# fresh machine whose system node is older.
set -e
node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)'
}
if ! node_ok; then
  platform=$(node -p 'process.platform + "-" + process.arch' 2>/dev/null || echo "linux-x64")
  dir="${LEADGRAPH_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/leadgraph-node24}"
  bin="$dir/node_modules/node-$platform/bin"
  if [ ! -x "$bin/node" ]; then
    echo "leadgraph: node $(node --version 2>/dev/null || echo none) is older than 22.18; installing node-$platform@24 into $dir" >&2
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --no-save "node-$platform@24" >&2
  fi
  PATH="$bin:$PATH"
  export PATH
fi
[ "$#" -gt 0 ] || { command -v node; exit 0; }
exec "$@"
