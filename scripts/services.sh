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
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VAR=${RTM_VAR_DIR:-$ROOT/var}
USAGE='usage: scripts/services.sh up|down|status [--mode test|run] [--swarm] [--all]'
ACTION=''
MODE=test
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
VAR=$(cd "$VAR" && pwd)

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

pid_of() { # pid_of <pidfile>: the pid it names, if that process is alive and a dockerd (not a recycled pid)
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

stop_dockerd() { # stop_dockerd <name> <pidfile>: SIGTERM the dockerd its pid file names, and wait (bounded) for it to exit
  local name=$1 pid
  pid=$(pid_of "$2") || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + WAIT_SECONDS))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { say "$name (pid $pid) still stopping after ${WAIT_SECONDS}s"; return 0; }
    sleep 0.5
  done
  say "$name (pid $pid) stopped"
}

docker_up() {
  if command -v docker >/dev/null && docker_answers >/dev/null 2>&1; then say "docker engine already answers"; return; fi
  need_pkg dockerd docker.io
  command -v docker >/dev/null || need_pkg docker docker.io
  # A dockerd that is starting or shutting down (its socket already gone while
  # it stops containers) must be waited out: a second one refuses to start.
  local deadline=$((SECONDS + WAIT_SECONDS))
  # By its pid file: the swarm's private dockerd (--swarm) is another dockerd process, not this one.
  while pid_of /var/run/docker.pid >/dev/null && ! docker_answers >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "a dockerd process runs but does not answer (log: $VAR/log/dockerd.log)"
    sleep 0.5
  done
  if docker_answers >/dev/null 2>&1; then say "docker engine answers"; return; fi
  # A dockerd killed without cleanup leaves its pid file, and a new one refuses to start.
  if [ -f /var/run/docker.pid ] && ! pid_of /var/run/docker.pid >/dev/null; then rm -f /var/run/docker.pid; fi
  say "starting dockerd (log: $VAR/log/dockerd.log)"
  nohup dockerd >>"$VAR/log/dockerd.log" 2>&1 &
  wait_for "docker engine" "$VAR/log/dockerd.log" docker_answers
  say "docker engine $(docker_answers) up"
}

# The swarm's engine: a dockerd of its own beside the default one, with its own
# data root, exec root (so its own containerd), pid file and socket, no bridge
# and no iptables rules, so it neither touches the default engine nor turns it
# into a swarm manager. --no-new-privileges: every container it runs gets
# no_new_privs, which the default engine's containers get from the manager's
# SecurityOpt and a Swarm service spec cannot carry.
SWARM_DIR=$VAR/swarm
SWARM_SOCKET=$SWARM_DIR/docker.sock
SWARM_HOST=unix://$SWARM_SOCKET
SWARM_PIDFILE=$SWARM_DIR/docker.pid
SWARM_LOG=$VAR/log/dockerd-swarm.log
VAR_HASH=$(printf %s "$VAR" | sha256sum | cut -c1-8)
# Short: containerd's socket paths under it must stay under ~100 characters.
SWARM_EXEC_ROOT=/run/rtm-swarm-$VAR_HASH
# Its docker_gwbridge as a Linux bridge of its own name (15 characters at most):
# another swarm engine on this machine has the default name.
SWARM_GWBRIDGE=rtmgw-$VAR_HASH
SWARM_ADDR=${RTM_SWARM_ADDR:-127.0.0.1}
SWARM_PORT=${RTM_SWARM_LISTEN_PORT:-12377}
# Docker's default VXLAN port unless told: another swarm engine in this network
# namespace holding it makes our overlays' VXLAN devices collide ("file exists").
SWARM_DATA_PATH_PORT=${RTM_SWARM_DATA_PATH_PORT:-4789}
SWARM_NETWORK=galaxy-engines

swarm() { docker -H "$SWARM_HOST" "$@"; }
swarm_answers() { swarm version --format '{{.Server.Version}}'; }
swarm_state() { swarm info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }
swarm_node_ready() { [ "$(swarm node inspect self --format '{{.Status.State}}' 2>/dev/null)" = ready ]; }

port_taken() { # port_taken -t|-u <addr> <port>: something listens there, TCP or UDP (or on every address)
  ss -Hln "$1" 2>/dev/null | awk '{print $4}' | grep -qxF -e "$2:$3" -e "0.0.0.0:$3" -e "*:$3" -e "[::]:$3"
}

swarm_engine_up() {
  [ ${#SWARM_SOCKET} -le 100 ] || die "the swarm engine's socket path $SWARM_SOCKET is ${#SWARM_SOCKET} characters, over the 100 a unix socket takes: choose a shorter RTM_VAR_DIR"
  if swarm_answers >/dev/null 2>&1; then say "swarm engine already answers ($SWARM_HOST)"; return; fi
  need_pkg dockerd docker.io
  # Starting, or stopping after a down: wait until it answers or exits.
  local deadline=$((SECONDS + WAIT_SECONDS))
  while pid_of "$SWARM_PIDFILE" >/dev/null && ! swarm_answers >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "the swarm's dockerd (pid $(cat "$SWARM_PIDFILE")) runs but does not answer on $SWARM_HOST (log: $SWARM_LOG)"
    sleep 0.5
  done
  if swarm_answers >/dev/null 2>&1; then say "swarm engine answers ($SWARM_HOST)"; return; fi
  # A dockerd killed without cleanup leaves its pid file, and a new one refuses to start;
  # and the network namespaces of its overlays (still holding their VXLAN sockets) mounted.
  rm -f "$SWARM_PIDFILE"
  if [ -d "$SWARM_EXEC_ROOT" ]; then
    # No mount left under it (a clean `down`) is fine: grep's exit 1 must not end the script under pipefail.
    { grep -o " $SWARM_EXEC_ROOT/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  fi
  mkdir -p "$SWARM_DIR/data"
  say "starting the swarm's dockerd (log: $SWARM_LOG)"
  nohup dockerd --data-root "$SWARM_DIR/data" --exec-root "$SWARM_EXEC_ROOT" --pidfile "$SWARM_PIDFILE" -H "$SWARM_HOST" \
    --bridge none --iptables=false --no-new-privileges >>"$SWARM_LOG" 2>&1 &
  wait_for "swarm engine" "$SWARM_LOG" swarm_answers
}

swarm_up() {
  local began=$SECONDS
  swarm_engine_up
  if [ "$(swarm_state)" != active ]; then
    # Each taken one fails later, and obscurely: swarm init, gossip (the
    # advertise address's 7946, which no option moves), every overlay network.
    # Taken (another swarm engine here, or the VXLAN socket a killed one's
    # network namespaces still hold), the next free one is chosen unless told.
    local tries=0
    while port_taken -t "$SWARM_ADDR" "$SWARM_PORT" || port_taken -t "$SWARM_ADDR" 7946; do
      [ -z "${RTM_SWARM_ADDR:-}" ] && [ $tries -lt 8 ] \
        || die "$SWARM_ADDR:$SWARM_PORT or :7946 is taken (another swarm engine on this machine?): choose another address (RTM_SWARM_ADDR, e.g. 127.0.0.2) or listen port (RTM_SWARM_LISTEN_PORT)"
      tries=$((tries + 1)); SWARM_ADDR=127.0.0.$((tries + 1))
    done
    tries=0
    while port_taken -u 0.0.0.0 "$SWARM_DATA_PATH_PORT"; do
      [ -z "${RTM_SWARM_DATA_PATH_PORT:-}" ] && [ $tries -lt 8 ] \
        || die "UDP $SWARM_DATA_PATH_PORT (VXLAN) is taken (another swarm engine on this machine?): choose another data path port (RTM_SWARM_DATA_PATH_PORT, e.g. 14789)"
      tries=$((tries + 1)); SWARM_DATA_PATH_PORT=$((4789 + tries * 10000))
    done
    swarm network inspect docker_gwbridge >/dev/null 2>&1 \
      || swarm network create --driver bridge -o com.docker.network.bridge.name="$SWARM_GWBRIDGE" \
        -o com.docker.network.bridge.enable_icc=false -o com.docker.network.bridge.enable_ip_masquerade=true docker_gwbridge >/dev/null \
      || die "could not create docker_gwbridge on the swarm engine (log: $SWARM_LOG)"
    swarm swarm init --advertise-addr "$SWARM_ADDR" --listen-addr "$SWARM_ADDR:$SWARM_PORT" --data-path-port "$SWARM_DATA_PATH_PORT" >>"$SWARM_LOG" 2>&1 \
      || die "swarm init on $SWARM_HOST failed (log: $SWARM_LOG)"
  fi
  wait_for "swarm node" "$SWARM_LOG" swarm_node_ready
  if [ "$MODE" = run ]; then
    local driver
    if driver=$(swarm network inspect -f '{{.Driver}}' "$SWARM_NETWORK" 2>/dev/null); then
      [ "$driver" = overlay ] || die "network $SWARM_NETWORK on the swarm engine is $driver, not overlay: remove it (docker -H $SWARM_HOST network rm $SWARM_NETWORK)"
    else
      swarm network create --driver overlay --attachable "$SWARM_NETWORK" >/dev/null || die "could not create the overlay network $SWARM_NETWORK (log: $SWARM_LOG)"
    fi
  fi
  # Its own image store: the engine images the tests (or the demo) start.
  if [ "$MODE" = run ]; then
    DOCKER_HOST=$SWARM_HOST bash scripts/build-test-images.sh --demo || die "building the demo image on the swarm engine failed"
  else
    DOCKER_HOST=$SWARM_HOST bash scripts/build-test-images.sh || die "building the test images on the swarm engine failed"
  fi
  say "swarm up: one node on $SWARM_HOST (advertised at $(swarm info --format '{{.Swarm.NodeAddr}}')) in $((SECONDS - began))s"
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
  # Once up, the swarm stays in the file, whether or not this call asked for it.
  if swarm_answers >/dev/null 2>&1; then
    printf 'RTM_TEST_SWARM_HOST=%s\nRTM_SWARM_HOST=%s\n' "$SWARM_HOST" "$SWARM_HOST" >>"$VAR/services.env"
  fi
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
    if [ "$SWARM" = 1 ]; then
      need_pkg ss iproute2
      swarm_up
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
    if [ "$ALL" = 1 ]; then
      # Each by its own pid file: the default engine and the swarm's are both dockerd processes.
      stop_dockerd "swarm dockerd" "$SWARM_PIDFILE"
      stop_dockerd "dockerd" /var/run/docker.pid
    fi
    say "down"
    ;;
  status)
    redis-cli -p "$TEST_REDIS_PORT" ping >/dev/null 2>&1 && say "redis :$TEST_REDIS_PORT up" || say "redis :$TEST_REDIS_PORT down"
    redis-cli -p "$RUN_REDIS_PORT" ping >/dev/null 2>&1 && say "redis :$RUN_REDIS_PORT up" || say "redis :$RUN_REDIS_PORT down"
    { [ -x "$PG_BIN/pg_isready" ] && pg_answers; } && say "postgres :$PG_PORT up" || say "postgres :$PG_PORT down"
    docker_answers >/dev/null 2>&1 && say "docker engine up" || say "docker engine down"
    registry_answers "$TEST_REGISTRY_PORT" && say "registry :$TEST_REGISTRY_PORT up" || say "registry :$TEST_REGISTRY_PORT down"
    if swarm_answers >/dev/null 2>&1; then
      say "swarm engine $SWARM_HOST up (swarm $(swarm_state), pid $(pid_of "$SWARM_PIDFILE" || echo '?'))"
    else
      say "swarm engine $SWARM_HOST down"
    fi
    ;;
  *) die "$USAGE" ;;
esac
