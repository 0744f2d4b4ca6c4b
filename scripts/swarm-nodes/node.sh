# shellcheck shell=bash
# One node of scripts/swarm-nodes.sh: its dockerd started in its namespace and
# cgroups, and waited for.

start_node() {
  local k=$1 d log name
  d=$(dir_of "$k")
  name=$(ns "$k")
  log=$LOGS/swarm-node-$k.log
  # A fresh node every time: an old data root would bring back an old swarm.
  rm -rf "$d/data"
  mkdir -p "$d/data" "$LOGS"
  for h in pids freezer; do mkdir -p "$CGROUPS/$h/$name"; done
  echo "---- $(date -Is) up" >>"$log"
  # The shell puts itself in the node's cgroups and a UTS namespace of its own
  # (so the node's hostname is its own), then becomes dockerd: $! is dockerd.
  # shellcheck disable=SC2016 # the script is the node shell's own: $$ and $1.. expand there, not here
  nsenter --net="/var/run/netns/$name" -- unshare --uts -- sh -c '
    echo $$ >"$1/pids/$2/cgroup.procs"; echo $$ >"$1/freezer/$2/cgroup.procs"
    hostname "rtm-node-$3"
    shift 3
    exec env DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 dockerd "$@"' sh "$CGROUPS" "$name" "$k" \
    --data-root "$d/data" \
    --exec-root "$(exec_root_of "$k")" \
    --pidfile "$d/docker.pid" \
    -H "unix://$(sock_of "$k")" \
    --containerd-namespace "$name" \
    --cgroup-parent "/$name" \
    --dns "$NET3.1" \
    --log-level info \
    </dev/null >>"$log" 2>&1 9>&- & # 9: the lock, not to be held by the node
}

wait_node() {
  # shellcheck disable=SC2034 # DK_TIMEOUT bounds dk (common.sh), which sees it through bash's dynamic scope
  local k=$1 DK_TIMEOUT=5
  for _ in $(seq 1 300); do
    dk "$k" version >/dev/null 2>&1 && return 0
    [ -f "$(dir_of "$k")/docker.pid" ] && ! alive "$(cat "$(dir_of "$k")/docker.pid" 2>/dev/null)" && break
    sleep 0.1
  done
  tail -n 20 "$LOGS/swarm-node-$k.log" >&2
  die "node $k: dockerd did not answer on $(sock_of "$k")"
}
