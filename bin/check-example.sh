#!/bin/sh
# `npm run example:custom-crm` (and CI): packs LeadGraph as it would be published (`npm pack` builds dist/ first,
# then takes the files package.json lists), installs that tarball into examples/custom-crm as its only
# dependency, runs the installed `leadgraph` command on its shipped defaults, type-checks the example against
# the installed .d.ts files, and runs it. Exits non-zero when any step fails or the example's checks do not hold.
set -eu
cd "$(dirname "$0")/.."
example=examples/custom-crm
version=$(node -p 'require("./package.json").version')

npm pack --pack-destination "$example" --loglevel=warn
mv "$example/leadgraph-$version.tgz" "$example/leadgraph.tgz"
# A file: dependency whose tarball changed is only re-extracted when it is not installed already.
rm -rf "$example/node_modules/leadgraph"
(cd "$example" && npm install --no-package-lock --prefer-offline --no-audit --no-fund --loglevel=error)

# The installed CLI finds routing.json, scoring.json and the prompts inside the package.
(cd "$example" && node_modules/.bin/leadgraph config check)
node_modules/.bin/tsc -p "$example"
(cd "$example" && node main.ts)
