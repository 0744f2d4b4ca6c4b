# shellcheck shell=bash
# Redis: a private instance per mode, on a port of ours (Debian's package starts
# a system instance on 6379, which we leave alone).

TEST_REDIS_PORT=${RTM_TEST_REDIS_PORT:-16379}
RUN_REDIS_PORT=${RTM_RUN_REDIS_PORT:-16380}

redis_answers() { redis-cli -p "$1" ping; }

redis_up() { # redis_up <port> <aof yes|no>
  local port=$1 aof=$2 dir=$VAR/redis-$1
  # With AOF, fsync every write: a start answered 202 must survive a Redis crash.
  local fsync=everysec; [ "$aof" = yes ] && fsync=always
  if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then say "redis :$port already answers"; return; fi
  need_pkg redis-server redis-server
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly "$aof" --appendfsync "$fsync" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$VAR/log/redis-$port.log" \
    || die "redis on :$port did not start (log: $VAR/log/redis-$port.log)"
  wait_for "redis :$port" "$VAR/log/redis-$port.log" redis_answers "$port"
  say "redis :$port up (appendonly $aof)"
}

redis_down() {
  local port
  for port in "$TEST_REDIS_PORT" "$RUN_REDIS_PORT"; do
    # Our private ports: whatever answers there is ours, even started from another checkout.
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
}

redis_status() {
  report "redis :$TEST_REDIS_PORT" redis_answers "$TEST_REDIS_PORT"
  report "redis :$RUN_REDIS_PORT" redis_answers "$RUN_REDIS_PORT"
}
