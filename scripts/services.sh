#!/usr/bin/env bash
# Makes Redis, PostgreSQL, the Docker engine and a private registry available for the tests
# (--mode test, the default) or the run command (--mode run).
#   scripts/services.sh up|down|status [--mode test|run]
# Uses whatever already answers; otherwise, on Debian as root, installs
# Debian's packages and starts private instances under var/. Idempotent.
# Waits (bounded) until each answers; names the service and its log if not.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VAR=${RTM_VAR_DIR:-$ROOT/var}
ACTION=${1:-up}
MODE=test
[ "${2:-}" = "--mode" ] && MODE=${3:-test}

TEST_REDIS_PORT=${RTM_TEST_REDIS_PORT:-16379}
RUN_REDIS_PORT=${RTM_RUN_REDIS_PORT:-16380}
PG_PORT=${RTM_TEST_PG_PORT:-15432}
TEST_REGISTRY_PORT=${RTM_TEST_REGISTRY_PORT:-15000}
RUN_REGISTRY_PORT=${RTM_RUN_REGISTRY_PORT:-15001}
PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA=$VAR/pg
PG_RUN=$VAR/pg-run
WAIT_SECONDS=${RTM_SERVICES_WAIT_SECONDS:-60}

mkdir -p "$VAR/log"
say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
need_pkg() { # need_pkg <command-or-path> <debian package>
  if command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; then return 0; fi
  [ "$(id -u)" = 0 ] || die "$2 is missing and we are not root to install it"
  command -v apt-get >/dev/null || die "$2 is missing and this is not a Debian machine"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    apt-get update -qq >"$VAR/log/apt.log" 2>&1 || die "apt-get update failed (see $VAR/log/apt.log)"
    APT_UPDATED=1
  fi
  say "installing $2"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >>"$VAR/log/apt.log" 2>&1 || die "apt-get install $2 failed (see $VAR/log/apt.log)"
}

wait_for() { # wait_for <name> <log> <command...>
  local name=$1 log=$2; shift 2
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$name did not answer within ${WAIT_SECONDS}s (log: $log)"
    sleep 0.5
  done
}

redis_up() { # redis_up <port> <aof yes|no>
  local port=$1 aof=$2 dir=$VAR/redis-$1
  # With AOF, fsync every write: a start answered 202 must survive a Redis crash.
  local fsync=everysec; [ "$aof" = yes ] && fsync=always
  if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then say "redis :$port already answers"; return; fi
  need_pkg redis-server redis-server
  # Debian's package starts a system instance on 6379; ours is private.
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly "$aof" --appendfsync "$fsync" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$VAR/log/redis-$port.log" \
    || die "redis on :$port did not start (log: $VAR/log/redis-$port.log)"
  wait_for "redis :$port" "$VAR/log/redis-$port.log" redis-cli -p "$port" ping
  say "redis :$port up (appendonly $aof)"
}

pg_answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

pg_up() {
  if [ -x "$PG_BIN/pg_isready" ] && pg_answers; then say "postgres :$PG_PORT already answers"; return; fi
  need_pkg "$PG_BIN/initdb" postgresql
  id postgres >/dev/null 2>&1 || die "user postgres is missing after installing postgresql"
  # The cluster lives in the work tree: every directory above it must be traversable by postgres.
  local d=$VAR
  while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  mkdir -p "$PG_DATA" "$PG_RUN"
  chown postgres:postgres "$PG_DATA" "$PG_RUN"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    su postgres -s /bin/sh -c "$PG_BIN/initdb -D '$PG_DATA' -A trust -U postgres -E UTF8 --locale=C.UTF-8" >"$VAR/log/initdb.log" 2>&1 \
      || die "initdb failed (log: $VAR/log/initdb.log)"
  fi
  su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$PG_DATA' -l '$PG_DATA/server.log' -w -t $WAIT_SECONDS \
    -o \"-p $PG_PORT -k $PG_RUN -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300\" start" \
    >"$VAR/log/pg_ctl.log" 2>&1 || die "postgres did not start (log: $PG_DATA/server.log)"
  wait_for postgres "$PG_DATA/server.log" pg_answers
  say "postgres :$PG_PORT up"
}

docker_answers() { docker version --format '{{.Server.Version}}'; }

docker_up() {
  if command -v docker >/dev/null && docker_answers >/dev/null 2>&1; then say "docker engine already answers"; return; fi
  need_pkg dockerd docker.io
  command -v docker >/dev/null || need_pkg docker docker.io
  # A dockerd that is starting or shutting down (its socket already gone while
  # it stops containers) must be waited out: a second one refuses to start.
  local deadline=$((SECONDS + WAIT_SECONDS))
  while pgrep -x dockerd >/dev/null && ! docker_answers >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "a dockerd process runs but does not answer (log: $VAR/log/dockerd.log)"
    sleep 0.5
  done
  if docker_answers >/dev/null 2>&1; then say "docker engine answers"; return; fi
  # A dockerd killed without cleanup leaves its pid file, and a new one refuses to start.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then rm -f /var/run/docker.pid; fi
  say "starting dockerd (log: $VAR/log/dockerd.log)"
  nohup dockerd >>"$VAR/log/dockerd.log" 2>&1 &
  wait_for "docker engine" "$VAR/log/dockerd.log" docker_answers
  say "docker engine $(docker_answers) up"
}

registry_answers() { # 401 without credentials: it is up, and it asks for them
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/")" = 401 ]
}

registry_up() { # registry_up <port> <dir>: a private registry with htpasswd auth, and a docker login for it
  local port=$1 dir=$2
  need_pkg docker-registry docker-registry
  need_pkg htpasswd apache2-utils
  mkdir -p "$dir/data" "$dir/docker-config"
  # One user per registry, its password made once: tests log in with it, and an
  # operator trying the service pushes a first engine with it.
  if [ ! -f "$dir/password" ]; then (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' | cut -c1-24 >"$dir/password"); fi
  local password; password=$(cat "$dir/password")
  htpasswd -Bbn galaxy "$password" >"$dir/htpasswd" 2>/dev/null || die "htpasswd failed"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: galaxy-registry
    path: $dir/htpasswd
YAML
  if registry_answers "$port"; then
    say "registry :$port already answers"
  else
    nohup docker-registry serve "$dir/config.yml" >>"$VAR/log/registry-$port.log" 2>&1 &
    echo $! >"$dir/registry.pid"
    wait_for "registry :$port" "$VAR/log/registry-$port.log" registry_answers "$port"
    say "registry :$port up (user galaxy, password in $dir/password)"
  fi
  # Writes $dir/docker-config/config.json the way `docker login` does: what
  # RTMANAGER_DOCKER_CONFIG points at, and what `docker --config` pushes with.
  printf '%s' "$password" | docker --config "$dir/docker-config" login -u galaxy --password-stdin "127.0.0.1:$port" >/dev/null 2>&1 \
    || die "docker login to the registry on :$port failed: if another checkout started it, its password is not $dir/password; stop it (scripts/services.sh down there) or choose another port (RTM_TEST_REGISTRY_PORT / RTM_RUN_REGISTRY_PORT) (log: $VAR/log/registry-$port.log)"
}

write_env() {
  # The socket directory of whichever cluster answers (ours, or one that was already running).
  local socket_dir
  socket_dir=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc 'show unix_socket_directories' 2>/dev/null | cut -d, -f1 || true)
  cat >"$VAR/services.env" <<EOF
RTM_TEST_PG_SOCKET_DIR=${socket_dir:-$PG_RUN}
RTM_TEST_REDIS_URL=redis://127.0.0.1:$TEST_REDIS_PORT
RTM_TEST_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
RTM_RUN_REDIS_URL=redis://127.0.0.1:$RUN_REDIS_PORT
RTM_TEST_REGISTRY=127.0.0.1:$TEST_REGISTRY_PORT
RTM_TEST_REGISTRY_DIR=$VAR/registry-test
RTM_RUN_REGISTRY=127.0.0.1:$RUN_REGISTRY_PORT
RTM_RUN_REGISTRY_DIR=$VAR/registry-run
EOF
}

case "$ACTION" in
  up)
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
    fi
    write_env
    ;;
  down)
    for port in "$TEST_REDIS_PORT" "$RUN_REDIS_PORT"; do
      # Our private ports: whatever answers there is ours, even started from another checkout.
      redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    done
    for dir in "$VAR/registry-test" "$VAR/registry-run"; do
      [ -f "$dir/registry.pid" ] && kill "$(cat "$dir/registry.pid")" 2>/dev/null || true
    done
    [ -f "$PG_DATA/postmaster.pid" ] && su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$PG_DATA' -m fast stop" >/dev/null 2>&1 || true
    if [ "${2:-}" = "--all" ]; then pkill -x dockerd || true; fi
    say "down"
    ;;
  status)
    redis-cli -p "$TEST_REDIS_PORT" ping >/dev/null 2>&1 && say "redis :$TEST_REDIS_PORT up" || say "redis :$TEST_REDIS_PORT down"
    redis-cli -p "$RUN_REDIS_PORT" ping >/dev/null 2>&1 && say "redis :$RUN_REDIS_PORT up" || say "redis :$RUN_REDIS_PORT down"
    { [ -x "$PG_BIN/pg_isready" ] && pg_answers; } && say "postgres :$PG_PORT up" || say "postgres :$PG_PORT down"
    docker_answers >/dev/null 2>&1 && say "docker engine up" || say "docker engine down"
    registry_answers "$TEST_REGISTRY_PORT" && say "registry :$TEST_REGISTRY_PORT up" || say "registry :$TEST_REGISTRY_PORT down"
    ;;
  *) die "usage: scripts/services.sh up|down|status [--mode test|run]" ;;
esac
