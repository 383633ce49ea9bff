# A private PostgreSQL 15 for benchmark scripts (sourced, not run): on a free
# loopback port, in a temporary folder, stopped and deleted on exit.
#   postgres_start            creates and starts it; sets postgres_port
#   postgres_database NAME    creates a database and prints its URL
#   postgres_crash            stops it without a checkpoint (pg_ctl stop -m immediate)
#   postgres_run              starts it again on the same folder and port
#   postgres_stop             stops it and deletes its folder
# A script that sources this again in a child (bench/chaos's faults) exports
# postgres_work and postgres_port first, so the child finds the same server.
postgres_binaries=/usr/lib/postgresql/15/bin
postgres_work=${postgres_work:-$(mktemp -d /tmp/payd-postgres-XXXXXX)}
source bench/lib/ports.sh
postgres_port=${postgres_port:-$(random_listen_port)}

postgres_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres "$postgres_work"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

postgres_stop() {
  postgres_as_owner "$postgres_binaries/pg_ctl" -D "$postgres_work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$postgres_work"
}

postgres_crash() {
  postgres_as_owner "$postgres_binaries/pg_ctl" -D "$postgres_work/data" -m immediate stop >/dev/null
}

postgres_run() {
  postgres_as_owner "$postgres_binaries/pg_ctl" -D "$postgres_work/data" -w -t 30 -l "$postgres_work/log" \
    -o "-c listen_addresses=127.0.0.1 -c port=$postgres_port -c unix_socket_directories=$postgres_work -c fsync=on -c recovery_init_sync_method=syncfs" \
    start >/dev/null
}

postgres_start() {
  trap postgres_stop EXIT
  postgres_as_owner "$postgres_binaries/initdb" -D "$postgres_work/data" -A trust -U postgres >/dev/null
  postgres_run
}

postgres_database() {
  PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -p "$postgres_port" -U postgres \
    -c "CREATE DATABASE $1" >/dev/null
  echo "postgresql://postgres@127.0.0.1:$postgres_port/$1"
}
