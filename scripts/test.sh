#!/usr/bin/env bash
# THE test command: services up, images built, lint, typecheck, every unit
# and integration test; fails if any test container is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "test: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
fi

bash scripts/services.sh up --mode test
set -a; . var/services.env; set +a
bash scripts/build-test-images.sh

echo "test: lint"; npm run --silent lint
echo "test: typecheck"; npm run --silent typecheck
echo "test: vitest (unit + integration)"
npx vitest run --project unit --project integration

# Alone, after the rest: these kill and restart Redis, Postgres and dockerd.
echo "test: vitest (faults)"
npx vitest run --project faults

left=$(docker ps -aq --filter label=com.galaxy.test=1 | wc -l)
if [ "$left" != 0 ]; then
  echo "test: FAILED: $left test container(s) left behind:" >&2
  docker ps -a --filter label=com.galaxy.test=1 >&2
  exit 1
fi
echo "test: no test container left behind"
