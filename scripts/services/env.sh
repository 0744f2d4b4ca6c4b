# shellcheck shell=bash
# var/services.env: where each service answers, for the tests (set -a; . var/services.env)
# and the run command.

write_env() {
  # The socket directory of whichever cluster answers (ours, or one that was already running).
  local socket_dir
  socket_dir=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc 'show unix_socket_directories' 2>/dev/null | cut -d, -f1 || true)
  cat >"$VAR/services.env" <<ENV
RTM_TEST_PG_SOCKET_DIR=${socket_dir:-$PG_RUN}
RTM_TEST_REDIS_URL=redis://127.0.0.1:$TEST_REDIS_PORT
RTM_TEST_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
RTM_RUN_REDIS_URL=redis://127.0.0.1:$RUN_REDIS_PORT
RTM_TEST_REGISTRY=127.0.0.1:$TEST_REGISTRY_PORT
RTM_TEST_REGISTRY_DIR=$VAR/registry-test
RTM_RUN_REGISTRY=127.0.0.1:$RUN_REGISTRY_PORT
RTM_RUN_REGISTRY_DIR=$VAR/registry-run
ENV
  # Once up, the swarm stays in the file, whether or not this call asked for it.
  if swarm_answers >/dev/null 2>&1; then
    printf 'RTM_TEST_SWARM_HOST=%s\nRTM_SWARM_HOST=%s\n' "$SWARM_HOST" "$SWARM_HOST" >>"$VAR/services.env"
  fi
}
