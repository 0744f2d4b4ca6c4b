#!/usr/bin/env bash
# THE test command: services up, images built, lint, typecheck, every unit
# and integration test; fails if any test container is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."

# A node_modules that is a symlink is an install shared with another checkout:
# npm ci would empty it under that checkout's feet.
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; }; then
  echo "test: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
fi

bash scripts/services.sh up --mode test
set -a; . var/services.env; set +a
# Every test container carries com.galaxy.test=<this session>: sweeps judge only their own.
export RTM_TEST_SESSION="s$(date +%s)$$"

# The leak check judges this run only: containers of an earlier run that was
# killed with its machine (left "Dead" mid-removal, or still running) are not
# this run's leak, and a concurrent run on the same daemon keeps its own.
run_started=$(date +%s)
# Dead test containers are owned by nobody: a removal the daemon never finished.
stale_dead=$(docker ps -aq --filter label=com.galaxy.test --filter status=dead)
if [ -n "$stale_dead" ]; then
  echo "test: removing $(echo "$stale_dead" | wc -l) dead test container(s) an earlier, killed run left"
  echo "$stale_dead" | xargs -r docker rm -f >/dev/null 2>&1 || true
fi
bash scripts/build-test-images.sh

echo "test: lint"; npm run --silent lint
# The alert rules README's "Monitoring" ships: their syntax, and each alert firing (or not) on sample series.
echo "test: promtool"
promtool check rules deploy/prometheus/alerts.yml
promtool check config deploy/prometheus/prometheus.yml
(cd deploy/prometheus && promtool test rules alerts.test.yml)
echo "test: typecheck"; npm run --silent typecheck
echo "test: build"; npm run --silent build
echo "test: vitest (unit + integration)"
npx vitest run --project unit --project integration

# Alone, after the rest: these kill and restart Redis, Postgres and dockerd.
echo "test: vitest (faults)"
npx vitest run --project faults

ours=()
for id in $(docker ps -aq --filter "label=com.galaxy.test=$RTM_TEST_SESSION"); do
  created=$(docker inspect -f '{{.Created}}' "$id" 2>/dev/null) || continue
  [ "$(date -d "$created" +%s)" -ge "$((run_started - 1))" ] && ours+=("$id")
done
older=$(docker ps -aq --filter label=com.galaxy.test | wc -l)
if [ "${#ours[@]}" != 0 ]; then
  echo "test: FAILED: ${#ours[@]} test container(s) this run left behind:" >&2
  docker inspect -f '{{.Name}} {{.State.Status}} {{.State.Error}}' "${ours[@]}" | head -20 >&2
  grep 'level=error' var/log/dockerd.log 2>/dev/null | tail -5 >&2 || true
  exit 1
fi
echo "test: no test container left behind (${older} older one(s) from other runs not judged)"
