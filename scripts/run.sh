#!/usr/bin/env bash
# THE run command: the whole system (web + worker + intake) in one process on
# the embedded PGlite database, against a private Redis (AOF on) and the
# Docker engine. Credentials come from the environment or are generated once
# and kept in var/run-secrets.env.
set -euo pipefail
cd "$(dirname "$0")/.."

# A node_modules that is a symlink is an install shared with another checkout:
# npm ci would empty it under that checkout's feet.
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; }; then
  echo "run: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
fi

echo "run: npm run build"
npm run --silent build

bash scripts/services.sh up --mode run
set -a; . var/services.env; set +a

if [ ! -f var/run-secrets.env ]; then
  umask 077
  cat >var/run-secrets.env <<SECRETS
GENERATED_API_TOKEN=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | cut -c1-40)
GENERATED_ADMIN_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | cut -c1-24)
SECRETS
fi
. var/run-secrets.env
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

docker network inspect "$RTMANAGER_DOCKER_NETWORK" >/dev/null 2>&1 || docker network create "$RTMANAGER_DOCKER_NETWORK" >/dev/null
bash scripts/build-test-images.sh --demo

cat <<INFO

  Galaxy Runtime Manager
  API        http://$HOST:$PORT/api/v1/internal   (Authorization: Bearer $RTMANAGER_API_TOKEN)
  Dashboard  http://$HOST:$PORT/admin/queues      ($RTMANAGER_ADMIN_USER / $RTMANAGER_ADMIN_PASSWORD)
  Docs       http://$HOST:$PORT/docs
  Database   ${RTMANAGER_DATABASE_URL:-embedded PGlite in ${RTMANAGER_PGLITE_DIR:-var/pglite}}
  Registry   $RTM_RUN_REGISTRY (user galaxy, password in $RTM_RUN_REGISTRY_DIR/password)
             push an engine: docker --config $(dirname "$LOCAL_REGISTRY_CONFIG") push $RTM_RUN_REGISTRY/<name>:<tag>
  Pulls with ${CREDENTIALS} (RTMANAGER_DOCKER_CONFIG)

  Try:  curl -s -X POST -H "Authorization: Bearer $RTMANAGER_API_TOKEN" -H 'content-type: application/json' \\
          -d '{"image_ref":"galaxy-demo-engine:latest"}' "http://$HOST:$PORT/api/v1/internal/runtimes/demo-1/start?wait=30"

INFO
exec node dist/main.js all
