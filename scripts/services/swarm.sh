# shellcheck shell=bash
# shellcheck disable=SC2153 # SWARM_HOST is swarm-engine.sh's, sourced before this file by services.sh
# A one-node Docker Swarm on the swarm's engine (swarm-engine.sh): its addresses
# and ports, init, the overlay network of the run mode, and the engine images.

# Its docker_gwbridge as a Linux bridge of its own name (15 characters at most):
# another swarm engine on this machine has the default name.
SWARM_GWBRIDGE=rtmgw-$VAR_HASH
SWARM_ADDR=${RTM_SWARM_ADDR:-127.0.0.1}
SWARM_PORT=${RTM_SWARM_LISTEN_PORT:-12377}
# Docker's default VXLAN port unless told: another swarm engine in this network
# namespace holding it makes our overlays' VXLAN devices collide ("file exists").
SWARM_DATA_PATH_PORT=${RTM_SWARM_DATA_PATH_PORT:-4789}
SWARM_NETWORK=galaxy-engines

swarm_node_ready() { [ "$(swarm node inspect self --format '{{.Status.State}}' 2>/dev/null)" = ready ]; }

port_taken() { # port_taken -t|-u <addr> <port>: something listens there, TCP or UDP (or on every address)
  ss -Hln "$1" 2>/dev/null | awk '{print $4}' | grep -qxF -e "$2:$3" -e "0.0.0.0:$3" -e "*:$3" -e "[::]:$3"
}

# Each taken one fails later, and obscurely: swarm init, gossip (the
# advertise address's 7946, which no option moves), every overlay network.
# Taken (another swarm engine here, or the VXLAN socket a killed one's
# network namespaces still hold), the next free one is chosen unless told.
swarm_free_ports() { # sets SWARM_ADDR and SWARM_DATA_PATH_PORT
  local tries=0
  while port_taken -t "$SWARM_ADDR" "$SWARM_PORT" || port_taken -t "$SWARM_ADDR" 7946; do
    if [ -n "${RTM_SWARM_ADDR:-}" ] || [ $tries -ge 8 ]; then
      die "$SWARM_ADDR:$SWARM_PORT or :7946 is taken (another swarm engine on this machine?): choose another address (RTM_SWARM_ADDR, e.g. 127.0.0.2) or listen port (RTM_SWARM_LISTEN_PORT)"
    fi
    tries=$((tries + 1)); SWARM_ADDR=127.0.0.$((tries + 1))
  done
  tries=0
  while port_taken -u 0.0.0.0 "$SWARM_DATA_PATH_PORT"; do
    if [ -n "${RTM_SWARM_DATA_PATH_PORT:-}" ] || [ $tries -ge 8 ]; then
      die "UDP $SWARM_DATA_PATH_PORT (VXLAN) is taken (another swarm engine on this machine?): choose another data path port (RTM_SWARM_DATA_PATH_PORT, e.g. 14789)"
    fi
    tries=$((tries + 1)); SWARM_DATA_PATH_PORT=$((4789 + tries * 10000))
  done
}

swarm_init() {
  swarm_free_ports
  swarm network inspect docker_gwbridge >/dev/null 2>&1 \
    || swarm network create --driver bridge -o com.docker.network.bridge.name="$SWARM_GWBRIDGE" \
      -o com.docker.network.bridge.enable_icc=false -o com.docker.network.bridge.enable_ip_masquerade=true docker_gwbridge >/dev/null \
    || die "could not create docker_gwbridge on the swarm engine (log: $SWARM_LOG)"
  swarm swarm init --advertise-addr "$SWARM_ADDR" --listen-addr "$SWARM_ADDR:$SWARM_PORT" --data-path-port "$SWARM_DATA_PATH_PORT" >>"$SWARM_LOG" 2>&1 \
    || die "swarm init on $SWARM_HOST failed (log: $SWARM_LOG)"
}

swarm_overlay_network() { # the run mode's engine network, attachable, which Swarm's DNS serves on every node
  local driver
  if driver=$(swarm network inspect -f '{{.Driver}}' "$SWARM_NETWORK" 2>/dev/null); then
    [ "$driver" = overlay ] || die "network $SWARM_NETWORK on the swarm engine is $driver, not overlay: remove it (docker -H $SWARM_HOST network rm $SWARM_NETWORK)"
  else
    swarm network create --driver overlay --attachable "$SWARM_NETWORK" >/dev/null || die "could not create the overlay network $SWARM_NETWORK (log: $SWARM_LOG)"
  fi
}

swarm_up() {
  local began=$SECONDS
  swarm_engine_up
  if [ "$(swarm_state)" != active ]; then swarm_init; fi
  wait_for "swarm node" "$SWARM_LOG" swarm_node_ready
  # Its own image store: the engine images the tests (or the demo) start.
  if [ "$MODE" = run ]; then
    swarm_overlay_network
    DOCKER_HOST=$SWARM_HOST bash scripts/build-test-images.sh --demo || die "building the demo image on the swarm engine failed"
  else
    DOCKER_HOST=$SWARM_HOST bash scripts/build-test-images.sh || die "building the test images on the swarm engine failed"
  fi
  say "swarm up: one node on $SWARM_HOST (advertised at $(swarm info --format '{{.Swarm.NodeAddr}}')) in $((SECONDS - began))s"
}
