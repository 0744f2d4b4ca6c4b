# shellcheck shell=bash
# A private registry per mode (Debian's docker-registry) with htpasswd auth,
# user galaxy, its files under var/registry-test or var/registry-run, and a
# docker login for it in that directory's docker-config/.

TEST_REGISTRY_PORT=${RTM_TEST_REGISTRY_PORT:-15000}
# shellcheck disable=SC2034 # read by services.sh and env.sh, which source this file
RUN_REGISTRY_PORT=${RTM_RUN_REGISTRY_PORT:-15001}

registry_answers() { # 401 without credentials: it is up, and it asks for them
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/")" = 401 ]
}

registry_config() { # registry_config <port> <dir>: its config.yml
  local port=$1 dir=$2
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
  registry_config "$port" "$dir"
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

registry_down() {
  local dir
  for dir in "$VAR/registry-test" "$VAR/registry-run"; do
    if [ -f "$dir/registry.pid" ]; then kill "$(cat "$dir/registry.pid")" 2>/dev/null || true; fi
  done
}

registry_status() { report "registry :$TEST_REGISTRY_PORT" registry_answers "$TEST_REGISTRY_PORT"; }
