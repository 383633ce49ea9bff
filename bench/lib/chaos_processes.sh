# The processes bench/chaos starts, kills and restarts (sourced, not run).
# Both the main run and its fault commands source this; all state is in
# files under $CHAOS_WORK, so a fault command (another process) can kill
# and restart what the main run started:
#   NAME.flags       payd's extra flags, one a line     NAME.pid    the running process
#   NAME.port_fixed  the port, fixed after the first start, reused on restart
#   NAME/            payd's data dir                    NAME.log    its output (every run)
# Needs CHAOS_WORK and CHAOS_BUILD (and CHAOS_REDIS_PORT for redis).
# Every process listens on 127.0.0.1 only; every wait is bounded.

source bench/lib/ports.sh

chaos_start_wait_tenths=150  # 15 s for a process to listen
chaos_stop_wait_tenths=100   # 10 s for a graceful stop before kill -9

# Starts payd NAME with NAME.flags, on NAME.port_fixed (any free port the
# first time, then kept), and waits until it listens.
payd_launch() {
  local name=$1 port=0 flags=()
  [ -f "$CHAOS_WORK/$name.port_fixed" ] && port=$(cat "$CHAOS_WORK/$name.port_fixed")
  [ -f "$CHAOS_WORK/$name.flags" ] && mapfile -t flags <"$CHAOS_WORK/$name.flags"
  mkdir -p "$CHAOS_WORK/$name"
  rm -f "$CHAOS_WORK/$name.port"
  "$CHAOS_BUILD/src/app/payd" --listen 127.0.0.1 --port "$port" --port-file "$CHAOS_WORK/$name.port" \
    --data-dir "$CHAOS_WORK/$name" --access-log off --rate-limits off "${flags[@]}" \
    >>"$CHAOS_WORK/$name.log" 2>&1 </dev/null &
  echo $! >"$CHAOS_WORK/$name.pid"
  disown
  local tenth
  for ((tenth = 0; tenth < chaos_start_wait_tenths; tenth++)); do
    [ -s "$CHAOS_WORK/$name.port" ] && break
    process_alive "$name" || break
    sleep 0.1
  done
  if [ ! -s "$CHAOS_WORK/$name.port" ]; then
    echo "chaos: payd $name did not start; its log:" >&2
    tail -20 "$CHAOS_WORK/$name.log" >&2
    return 1
  fi
  cat "$CHAOS_WORK/$name.port" >"$CHAOS_WORK/$name.port_fixed"
}

# Starts redis-server on CHAOS_REDIS_PORT (no persistence) and waits for PONG.
redis_launch() {
  mkdir -p "$CHAOS_WORK/redis"
  redis-server --bind 127.0.0.1 --port "$CHAOS_REDIS_PORT" --save '' --appendonly no --dir "$CHAOS_WORK/redis" \
    >>"$CHAOS_WORK/redis.log" 2>&1 </dev/null &
  echo $! >"$CHAOS_WORK/redis.pid"
  disown
  local tenth
  for ((tenth = 0; tenth < chaos_start_wait_tenths; tenth++)); do
    [ "$(redis-cli -h 127.0.0.1 -p "$CHAOS_REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "chaos: redis-server did not start; its log:" >&2
  tail -20 "$CHAOS_WORK/redis.log" >&2
  return 1
}

# Whether the process NAME (by its pid file) still runs.
process_alive() {
  [ -f "$CHAOS_WORK/$1.pid" ] && kill -0 "$(cat "$CHAOS_WORK/$1.pid")" 2>/dev/null
}

# kill -9 of NAME, and waits until it is gone.
kill_process() {
  local name=$1 pid tenth
  pid=$(cat "$CHAOS_WORK/$name.pid")
  kill -9 "$pid"
  for ((tenth = 0; tenth < chaos_stop_wait_tenths; tenth++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$CHAOS_WORK/$name.pid"
}

# SIGTERM to NAME if it runs, kill -9 when it has not stopped in time.
stop_process() {
  local name=$1 pid tenth
  process_alive "$name" || { rm -f "$CHAOS_WORK/$name.pid"; return 0; }
  pid=$(cat "$CHAOS_WORK/$name.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((tenth = 0; tenth < chaos_stop_wait_tenths; tenth++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$CHAOS_WORK/$name.pid"
}

stop_all_processes() {
  local pid_file
  for pid_file in "$CHAOS_WORK"/*.pid; do
    [ -f "$pid_file" ] || continue
    kill -9 "$(cat "$pid_file")" 2>/dev/null || true
    rm -f "$pid_file"
  done
}

# A loopback port nothing listens on, outside the ephemeral range (tried at
# random, bounded; see ports.sh).
free_port() {
  local attempt port
  for ((attempt = 0; attempt < 50; attempt++)); do
    port=$(random_listen_port)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}
