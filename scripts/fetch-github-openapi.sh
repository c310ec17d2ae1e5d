#!/usr/bin/env bash
# Fetches GitHub's full REST description (about 1,200 operations, 13 MB)
# for the sources benchmark (server/benches/sources.rs): the npm package
# @octokit/openapi ships it. Not committed; kept in the shared target dir.
set -euo pipefail
dir="${CARGO_TARGET_DIR:-target}/github-openapi"
mkdir -p "$dir"
cd "$dir"
if [ ! -f package/generated/api.github.com.json ]; then
  npm pack @octokit/openapi --silent >/dev/null
  tar xzf octokit-openapi-*.tgz package/generated/api.github.com.json
fi
echo "$dir/package/generated/api.github.com.json"
