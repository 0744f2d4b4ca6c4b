#!/usr/bin/env bash
# THE test command: services up (and a one-node swarm on a private engine),
# images built, lint, typecheck, every unit and integration test, the
# backend-aware ones again on the swarm; fails if any test container (or, on
# the swarm, service) is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
VAR=${RTM_VAR_DIR:-var}

# A node_modules that is a symlink is an install shared with another checkout:
# npm ci would empty it under that checkout's feet.
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; }; then
  echo "test: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
fi

bash scripts/services.sh up --mode test --swarm
set -a
# shellcheck source=/dev/null # written by services.sh just above
. "$VAR/services.env"
set +a
swarm() { docker -H "$RTM_TEST_SWARM_HOST" "$@"; }
# Every test container carries com.galaxy.test=<this session>: sweeps judge only their own.
RTM_TEST_SESSION="s$(date +%s)$$"
export RTM_TEST_SESSION

# The leak check judges this run only: containers of an earlier run that was
# killed with its machine (left "Dead" mid-removal, or still running) are not
# this run's leak, and a concurrent run on the same daemon keeps its own.
run_started=$(date +%s)
# Dead test containers are owned by nobody: a removal the daemon never finished.
for engine in docker swarm; do
  stale_dead=$($engine ps -aq --filter label=com.galaxy.test --filter status=dead)
  if [ -n "$stale_dead" ]; then
    echo "test: removing $(echo "$stale_dead" | wc -l) dead test container(s) an earlier, killed run left ($engine engine)"
    # shellcheck disable=SC2086 # one id a word
    $engine rm -f $stale_dead >/dev/null 2>&1 || true
  fi
done
bash scripts/build-test-images.sh

echo "test: lint"; npm run --silent lint
# The alert rules README's "Monitoring" ships: their syntax, and each alert firing (or not) on sample series.
echo "test: promtool"
promtool check rules deploy/prometheus/alerts.yml
promtool check config deploy/prometheus/prometheus.yml
(cd deploy/prometheus && promtool test rules alerts.test.yml)
echo "test: typecheck"; npm run --silent typecheck
echo "test: build"; npm run --silent build
echo "test: vitest (unit + integration + e2e)"
npx vitest run --project unit --project integration --project e2e

# 200 start/stop cycles on the Procfile processes: no leak, no growth (docs/benchmarks.md#soak). Built above.
echo "test: soak"; RTM_SOAK_CYCLES=200 npx tsx bench/soak.ts

# The backend-aware files again, and the Swarm-only ones, on the one-node swarm.
echo "test: vitest (swarm)"
npx vitest run --project swarm

# Alone, after the rest: these kill and restart Redis, Postgres and dockerd.
echo "test: vitest (faults)"
npx vitest run --project faults

# Many nodes on one machine: three dockerd in network namespaces of their own, one swarm
# (scripts/swarm-nodes.sh); its own engines, so it touches neither the default engine nor the one-node swarm.
echo "test: vitest (cluster)"
npx vitest run --project cluster

made_this_run() { # made_this_run <created, in seconds since the epoch>
  [ "$1" -ge "$((run_started - 1))" ]
}
leaks=0
for engine in docker swarm; do
  ours=()
  for id in $($engine ps -aq --filter "label=com.galaxy.test=$RTM_TEST_SESSION"); do
    created=$($engine inspect -f '{{.Created}}' "$id" 2>/dev/null) || continue
    made_this_run "$(date -d "$created" +%s)" && ours+=("$id")
  done
  if [ "${#ours[@]}" != 0 ]; then
    echo "test: FAILED: ${#ours[@]} test container(s) this run left behind ($engine engine):" >&2
    $engine inspect -f '{{.Name}} {{.State.Status}} {{.State.Error}}' "${ours[@]}" | head -20 >&2
    leaks=1
  fi
done
# A service left behind makes its container again: judged on its own.
services=()
for id in $(swarm service ls -q --filter "label=com.galaxy.test=$RTM_TEST_SESSION"); do
  created=$(swarm service inspect -f '{{.CreatedAt.Unix}}' "$id" 2>/dev/null) || continue
  made_this_run "$created" && services+=("$id")
done
if [ "${#services[@]}" != 0 ]; then
  echo "test: FAILED: ${#services[@]} test service(s) this run left behind on the swarm:" >&2
  swarm service inspect -f '{{.Spec.Name}} {{.CreatedAt}}' "${services[@]}" | head -20 >&2
  leaks=1
fi
if [ "$leaks" = 1 ]; then
  grep 'level=error' "$VAR/log/dockerd.log" 2>/dev/null | tail -5 >&2 || true
  grep 'level=error' "$VAR/log/dockerd-swarm.log" 2>/dev/null | tail -5 >&2 || true
  exit 1
fi
older=$(docker ps -aq --filter label=com.galaxy.test | wc -l)
echo "test: no test container or service left behind (${older} older container(s) from other runs not judged)"
