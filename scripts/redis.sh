#!/usr/bin/env bash
# Start (or stop) a private Redis on a loopback port, for the scale-out shape, its tests
# and the benchmark, and print the REDIS_URL to use:  eval "$(scripts/redis.sh start 6390)"
# Nothing is persisted (--save '', no AOF): the channel layer only carries doorbells and
# the cache only throttling counters; the database is the truth.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${2:-${REDIS_PORT:-6390}}
RUN=${REDIS_RUN_DIR:-var/redis}
case $RUN in /*) ;; *) RUN=$PWD/$RUN ;; esac

case "${1:-start}" in
  start)
    scripts/ensure-system.sh redis-server >&2
    mkdir -p "$RUN"
    if redis-cli -p "$PORT" ping >/dev/null 2>&1; then
      echo "redis already answers on 127.0.0.1:$PORT" >&2
    else
      redis-server --bind 127.0.0.1 --port "$PORT" --daemonize yes --save '' --appendonly no \
        --dir "$RUN" --pidfile "$RUN/redis-$PORT.pid" \
        --logfile "$RUN/redis-$PORT.log" >&2
      for _ in $(seq 1 50); do
        redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
      done
      redis-cli -p "$PORT" ping >/dev/null 2>&1 || {
        echo "error: redis did not start on port $PORT; see $RUN/redis-$PORT.log" >&2; exit 1; }
    fi
    echo "export REDIS_URL=redis://127.0.0.1:$PORT/0"
    ;;
  stop)
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    ;;
  pid)
    cat "$RUN/redis-$PORT.pid" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop|pid [PORT]" >&2; exit 2 ;;
esac
