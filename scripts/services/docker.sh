# shellcheck shell=bash
# The machine's default Docker engine: used if it answers, else Debian's
# docker.io started here (pid file /var/run/docker.pid, log var/log/dockerd.log).

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

docker_down() { stop_dockerd "dockerd" /var/run/docker.pid; }

docker_status() { report "docker engine" docker_answers; }
