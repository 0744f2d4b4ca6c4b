# shellcheck shell=bash
# The swarm's engine: a dockerd of its own beside the default one, with its own
# data root, exec root (so its own containerd), pid file and socket, no bridge
# and no iptables rules, so it neither touches the default engine nor turns it
# into a swarm manager. --no-new-privileges: every container it runs gets
# no_new_privs, which the default engine's containers get from the manager's
# SecurityOpt and a Swarm service spec cannot carry.
# The swarm itself (init, network, images) is swarm.sh.

SWARM_DIR=$VAR/swarm
SWARM_SOCKET=$SWARM_DIR/docker.sock
SWARM_HOST=unix://$SWARM_SOCKET
SWARM_PIDFILE=$SWARM_DIR/docker.pid
SWARM_LOG=$VAR/log/dockerd-swarm.log
VAR_HASH=$(printf %s "$VAR" | sha256sum | cut -c1-8)
# Short: containerd's socket paths under it must stay under ~100 characters.
SWARM_EXEC_ROOT=/run/rtm-swarm-$VAR_HASH

swarm() { docker -H "$SWARM_HOST" "$@"; }
swarm_answers() { swarm version --format '{{.Server.Version}}'; }
swarm_state() { swarm info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

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

swarm_engine_down() { stop_dockerd "swarm dockerd" "$SWARM_PIDFILE"; }

swarm_status() {
  if swarm_answers >/dev/null 2>&1; then
    say "swarm engine $SWARM_HOST up (swarm $(swarm_state), pid $(pid_of "$SWARM_PIDFILE" || echo '?'))"
  else
    say "swarm engine $SWARM_HOST down"
  fi
}
