# shellcheck shell=bash
# Bringing the swarm of scripts/swarm-nodes.sh up: namespaces (net.sh), nodes
# (node.sh), the swarm, its overlay network, the test images, nodes.env.

healthy() { # healthy N: N nodes answer, swarm has N Ready nodes, the overlay exists
  # shellcheck disable=SC2034 # DK_TIMEOUT bounds dk (common.sh), which sees it through bash's dynamic scope
  local n=$1 k DK_TIMEOUT=10
  for k in $(seq 1 "$n"); do dk "$k" version >/dev/null 2>&1 || return 1; done
  [ "$(dk 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$')" = "$n" ] || return 1
  [ "$(dk 1 node ls -q 2>/dev/null | wc -l)" = "$n" ] || return 1
  dk 1 network inspect "$OVERLAY" >/dev/null 2>&1 || return 1
  for k in $(seq $((n + 1)) "$MAX_NODES"); do [ ! -S "$(sock_of "$k")" ] || return 1; done
}

load_images() {
  local n=$1 k images tar=$STATE/images.tar
  if ! docker image inspect galaxy-test-engine:labelled >/dev/null 2>&1; then bash scripts/build-test-images.sh; fi
  images=$(docker images --format '{{.Repository}}:{{.Tag}}' 'galaxy-test-engine' | sort)
  # shellcheck disable=SC2086 # one image a word (a name:tag has no space)
  docker save -o "$tar" $images
  local pids=()
  for k in $(seq 1 "$n"); do dk "$k" load -q -i "$tar" >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || die "image load failed"; done
}

write_env() {
  local n=$1 k
  {
    echo "RTM_SWARM_NODES=$n"
    echo "RTM_SWARM_OVERLAY=$OVERLAY"
    echo "RTM_SWARM_MANAGER_SOCK=$(sock_of 1)"
    for k in $(seq 1 "$n"); do
      echo "RTM_SWARM_NODE_${k}_SOCK=$(sock_of "$k")"
      echo "RTM_SWARM_NODE_${k}_ADDR=$(ip_of "$k")"
      echo "RTM_SWARM_NODE_${k}_PIDFILE=$(dir_of "$k")/docker.pid"
    done
  } >"$STATE/nodes.env"
}

form_swarm() { # form_swarm N: node 1 initialises the swarm, the others join as workers; all Ready, bounded
  local n=$1 k
  dk 1 swarm init --advertise-addr "$(ip_of 1)" --listen-addr "$(ip_of 1):2377" \
    --dispatcher-heartbeat "$HEARTBEAT" --default-addr-pool "$POOL" --default-addr-pool-mask-length 24 >/dev/null
  local token
  token=$(dk 1 swarm join-token -q worker)
  local pids=()
  for k in $(seq 2 "$n"); do
    dk "$k" swarm join --token "$token" --advertise-addr "$(ip_of "$k")" --listen-addr "$(ip_of "$k"):2377" "$(ip_of 1):2377" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "a node could not join the swarm"; done
  local ready=0
  for _ in $(seq 1 600); do
    ready=$(dk 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$' || true)
    [ "$ready" = "$n" ] && break
    sleep 0.1
  done
  [ "$ready" = "$n" ] || { dk 1 node ls >&2; die "only $ready of $n nodes Ready after 60 s"; }
}

up() {
  local n=${1:-3} k t
  [[ "$n" =~ ^[23]$ ]] || die "N must be 2 or 3"
  need_tools
  mkdir -p "$STATE" "$LOGS"
  if healthy "$n"; then
    say "already up ($n nodes)"
    load_images "$n"; write_env "$n"
    return
  fi
  # Whatever a crashed run left (stale pids, namespaces, mounts): gone first.
  down >/dev/null
  T0=$(now)

  t=$(now)
  make_network "$n"
  say "namespaces and bridge: $(since "$t") s"

  t=$(now)
  for k in $(seq 1 "$n"); do start_node "$k"; done
  for k in $(seq 1 "$n"); do wait_node "$k"; done
  say "$n dockerd answering: $(since "$t") s"

  t=$(now)
  form_swarm "$n"
  say "swarm of $n Ready (heartbeat $HEARTBEAT): $(since "$t") s"

  t=$(now)
  dk 1 network create -d overlay --attachable --subnet "$OVERLAY_SUBNET" --label com.galaxy.owner=rtmanager "$OVERLAY" >/dev/null
  load_images "$n"
  write_env "$n"
  say "overlay $OVERLAY and images: $(since "$t") s"
  say "up in $(since "$T0") s"
  dk 1 node ls
}
