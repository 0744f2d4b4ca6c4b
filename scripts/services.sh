#!/usr/bin/env bash
# Makes Redis, PostgreSQL, the Docker engine and a private registry available for the tests
# (--mode test, the default) or the run command (--mode run).
#   scripts/services.sh up|down|status [--mode test|run] [--swarm] [--all]
# --swarm (up): also a one-node Docker Swarm on a private dockerd of its own
# (socket var/swarm/docker.sock); the machine's default engine never becomes a
# swarm manager. --all (down): also stop the default dockerd and the swarm's.
# Uses whatever already answers; otherwise, on Debian as root, installs
# Debian's packages and starts private instances under var/. Idempotent.
# Waits (bounded) until each answers; names the service and its log if not.
# This file reads the command line and calls each service in turn; each service
# is one file under scripts/services/ (its settings, up, down and status).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VAR=${RTM_VAR_DIR:-$ROOT/var}
USAGE='usage: scripts/services.sh up|down|status [--mode test|run] [--swarm] [--all]'
ACTION=''
MODE='test'
SWARM=0
ALL=0
while [ $# -gt 0 ]; do
  case "$1" in
    up | down | status)
      [ -z "$ACTION" ] || { printf 'services: ERROR: two actions (%s, %s)\n%s\n' "$ACTION" "$1" "$USAGE" >&2; exit 2; }
      ACTION=$1
      ;;
    --mode) [ $# -ge 2 ] || { printf 'services: ERROR: --mode needs test or run\n' >&2; exit 2; }; MODE=$2; shift ;;
    --mode=*) MODE=${1#--mode=} ;;
    --swarm) SWARM=1 ;;
    --all) ALL=1 ;;
    *) printf 'services: ERROR: unknown argument %s\n%s\n' "$1" "$USAGE" >&2; exit 2 ;;
  esac
  shift
done
ACTION=${ACTION:-up}
case "$MODE" in test | run) ;; *) printf 'services: ERROR: --mode is test or run, not %s\n' "$MODE" >&2; exit 2 ;; esac
mkdir -p "$VAR"
# Canonical before the parts read it: the swarm engine's exec root is named by its hash.
VAR=$(cd "$VAR" && pwd)

. scripts/services/common.sh
. scripts/services/redis.sh
. scripts/services/postgres.sh
. scripts/services/docker.sh
. scripts/services/swarm-engine.sh
. scripts/services/swarm.sh
. scripts/services/registry.sh
. scripts/services/env.sh

services_up() {
  # Engine images are FROM scratch: only a static busybox runs in them.
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || need_pkg /nonexistent busybox-static
  docker_up
  if [ "$MODE" = run ]; then
    redis_up "$RUN_REDIS_PORT" yes
    registry_up "$RUN_REGISTRY_PORT" "$VAR/registry-run"
  else
    redis_up "$TEST_REDIS_PORT" no
    pg_up
    registry_up "$TEST_REGISTRY_PORT" "$VAR/registry-test"
    # The dashboard test drives Debian's Chromium through playwright-core.
    need_pkg chromium chromium
    # The test command checks deploy/prometheus/ with promtool.
    need_pkg promtool prometheus
    # The test command's lint (npm run lint) checks every shell script with it.
    need_pkg shellcheck shellcheck
  fi
  if [ "$SWARM" = 1 ]; then
    need_pkg ss iproute2
    swarm_up
  fi
  write_env
}

services_down() {
  redis_down
  registry_down
  pg_down
  if [ "$ALL" = 1 ]; then
    # Each by its own pid file: the default engine and the swarm's are both dockerd processes.
    swarm_engine_down
    docker_down
  fi
  say "down"
}

services_status() {
  redis_status
  pg_status
  docker_status
  registry_status
  swarm_status
}

case "$ACTION" in
  up) services_up ;;
  down) services_down ;;
  status) services_status ;;
  *) die "$USAGE" ;;
esac
