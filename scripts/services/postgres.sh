# shellcheck shell=bash
# PostgreSQL (tests only): Debian's 15, one cluster under var/pg, its socket in
# var/pg-run, tuned for speed over durability (fsync off).

PG_PORT=${RTM_TEST_PG_PORT:-15432}
PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA=$VAR/pg
PG_RUN=$VAR/pg-run

pg_answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
pg_installed_answers() { [ -x "$PG_BIN/pg_isready" ] && pg_answers; }

pg_up() {
  if pg_installed_answers; then say "postgres :$PG_PORT already answers"; return; fi
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

pg_down() {
  if [ -f "$PG_DATA/postmaster.pid" ]; then
    su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$PG_DATA' -m fast stop" >/dev/null 2>&1 || true
  fi
}

pg_status() { report "postgres :$PG_PORT" pg_installed_answers; }
