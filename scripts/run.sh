#!/usr/bin/env bash
# THE run command: the whole system (web + worker + intake) in one process on
# the embedded PGlite database, against a private Redis (AOF on) and the
# Docker engine — or, with RTMANAGER_RUNTIME_BACKEND=swarm and no engine of
# the operator's (RTMANAGER_DOCKER_HOST / DOCKER_HOST), a one-node swarm on a
# private engine (scripts/services.sh up --swarm). Credentials come from the
# environment or are generated once and kept in var/run-secrets.env.
set -euo pipefail
cd "$(dirname "$0")/.."
VAR=${RTM_VAR_DIR:-var}

# A node_modules that is a symlink is an install shared with another checkout:
# npm ci would empty it under that checkout's feet.
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; }; then
  echo "run: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
fi

echo "run: npm run build"
npm run --silent build

BACKEND=${RTMANAGER_RUNTIME_BACKEND:-docker}
PRIVATE_SWARM=0
if [ "$BACKEND" = swarm ] && [ -z "${RTMANAGER_DOCKER_HOST:-}" ] && [ -z "${DOCKER_HOST:-}" ]; then PRIVATE_SWARM=1; fi
if [ "$PRIVATE_SWARM" = 1 ]; then
  bash scripts/services.sh up --mode run --swarm
else
  bash scripts/services.sh up --mode run
fi
set -a
# shellcheck source=/dev/null # written by services.sh just above
. "$VAR/services.env"
set +a
if [ "$PRIVATE_SWARM" = 1 ]; then export RTMANAGER_DOCKER_HOST=$RTM_SWARM_HOST; fi
# The engine the service talks to, as it chooses it (RTMANAGER_DOCKER_HOST, else DOCKER_HOST).
ENGINE=${RTMANAGER_DOCKER_HOST:-${DOCKER_HOST:-unix:///var/run/docker.sock}}

if [ ! -f "$VAR/run-secrets.env" ]; then
  umask 077
  cat >"$VAR/run-secrets.env" <<SECRETS
GENERATED_API_TOKEN=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | cut -c1-40)
GENERATED_ADMIN_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | cut -c1-24)
SECRETS
fi
# shellcheck source=/dev/null # generated just above, once
. "$VAR/run-secrets.env"
export RTMANAGER_API_TOKEN=${RTMANAGER_API_TOKEN:-$GENERATED_API_TOKEN}
export RTMANAGER_ADMIN_USER=${RTMANAGER_ADMIN_USER:-admin}
export RTMANAGER_ADMIN_PASSWORD=${RTMANAGER_ADMIN_PASSWORD:-$GENERATED_ADMIN_PASSWORD}
export RTMANAGER_REDIS_URL=${RTMANAGER_REDIS_URL:-$RTM_RUN_REDIS_URL}
export RTMANAGER_DOCKER_NETWORK=${RTMANAGER_DOCKER_NETWORK:-galaxy-engines}
# Registry credentials: the operator's own (RTMANAGER_DOCKER_CONFIG, $DOCKER_CONFIG
# or ~/.docker, as the service reads them); with none of those, the local
# registry's, so an engine pushed there is pulled without a further step.
LOCAL_REGISTRY_CONFIG=$RTM_RUN_REGISTRY_DIR/docker-config/config.json
if [ -z "${RTMANAGER_DOCKER_CONFIG:-}" ] && [ -z "${DOCKER_CONFIG:-}" ] && [ ! -f "$HOME/.docker/config.json" ]; then
  export RTMANAGER_DOCKER_CONFIG=$LOCAL_REGISTRY_CONFIG
fi
CREDENTIALS=${RTMANAGER_DOCKER_CONFIG:-${DOCKER_CONFIG:+$DOCKER_CONFIG/config.json}}
CREDENTIALS=${CREDENTIALS:-$HOME/.docker/config.json}
HOST=${RTMANAGER_HTTP_HOST:-127.0.0.1}
PORT=${RTMANAGER_HTTP_PORT:-8090}

# One engine: a bridge network; a swarm: an attachable overlay network, which Swarm's DNS serves on every node.
DRIVER=bridge
if [ "$BACKEND" = swarm ]; then DRIVER=overlay; fi
if driver=$(docker -H "$ENGINE" network inspect -f '{{.Driver}}' "$RTMANAGER_DOCKER_NETWORK" 2>/dev/null); then
  [ "$driver" = "$DRIVER" ] || { echo "run: network $RTMANAGER_DOCKER_NETWORK on $ENGINE is $driver; the $BACKEND backend needs $DRIVER" >&2; exit 1; }
elif [ "$DRIVER" = overlay ]; then
  docker -H "$ENGINE" network create --driver overlay --attachable "$RTMANAGER_DOCKER_NETWORK" >/dev/null
else
  docker -H "$ENGINE" network create "$RTMANAGER_DOCKER_NETWORK" >/dev/null
fi
DOCKER_HOST=$ENGINE bash scripts/build-test-images.sh --demo

cat <<INFO

  Galaxy Runtime Manager
  API        http://$HOST:$PORT/api/v1/internal   (Authorization: Bearer $RTMANAGER_API_TOKEN)
  Dashboard  http://$HOST:$PORT/admin/queues      ($RTMANAGER_ADMIN_USER / $RTMANAGER_ADMIN_PASSWORD)
  Docs       http://$HOST:$PORT/docs
  Database   ${RTMANAGER_DATABASE_URL:-embedded PGlite in ${RTMANAGER_PGLITE_DIR:-var/pglite}}
  Engine     $ENGINE ($BACKEND backend, network $RTMANAGER_DOCKER_NETWORK)
  Registry   $RTM_RUN_REGISTRY (user galaxy, password in $RTM_RUN_REGISTRY_DIR/password)
             push an engine: docker --config $(dirname "$LOCAL_REGISTRY_CONFIG") push $RTM_RUN_REGISTRY/<name>:<tag>
  Pulls with ${CREDENTIALS} (RTMANAGER_DOCKER_CONFIG)

  Try:  curl -s -X POST -H "Authorization: Bearer $RTMANAGER_API_TOKEN" -H 'content-type: application/json' \\
          -d '{"image_ref":"galaxy-demo-engine:latest"}' "http://$HOST:$PORT/api/v1/internal/runtimes/demo-1/start?wait=30"

INFO
# V8's young generation (semi-space) and old space bounded, as in the Procfile:
# under load V8 otherwise lets the heap grow with garbage (a web process at
# 200 MB where 100 do); the old space a little larger here, one process holding
# three roles' live data.
exec node --max-semi-space-size=4 --max-old-space-size=384 dist/main.js all
