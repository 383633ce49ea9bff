# A private redis-server for benchmark scripts (sourced, not run): on a free
# loopback port, in a temporary folder, killed and deleted on exit.
#   redis_start     starts it; sets redis_port
#   redis_url       prints its redis:// URL
redis_work=$(mktemp -d /tmp/payd-redis-XXXXXX)
source bench/lib/ports.sh
redis_port=$(random_listen_port)

redis_stop() {
  [ -f "$redis_work/pid" ] && kill -9 "$(cat "$redis_work/pid")" 2>/dev/null || true
  rm -rf "$redis_work"
}

redis_start() {  # a few ports in turn, in case the random one is taken
  for _ in 1 2 3; do
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$redis_work" \
      --daemonize yes --pidfile "$redis_work/pid" --logfile "$redis_work/log" >/dev/null
    for _ in $(seq 100); do
      redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
      sleep 0.05
    done
    [ -f "$redis_work/pid" ] && kill -9 "$(cat "$redis_work/pid")" 2>/dev/null
    rm -f "$redis_work/pid"
    redis_port=$(random_listen_port)
  done
  echo "redis-server did not start:" >&2
  tail -5 "$redis_work/log" >&2 2>/dev/null || true
  return 1
}

redis_url() { echo "redis://127.0.0.1:$redis_port"; }
