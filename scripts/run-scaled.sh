#!/usr/bin/env bash
# The scale-out shape on one machine (docs/scale-out.md): PostgreSQL, Redis, two Daphne
# workers, one scheduler process and nginx on http://127.0.0.1:8000 in front of them.
# Migrates and loads the demo data first; prints what runs where; Ctrl-C stops it all.
#
#   scripts/run-scaled.sh            (or: make run-scaled)
#   PORT=8080 WORKER_PORTS="8001 8002 8003" SCHEDULERS=2 scripts/run-scaled.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
HOST=127.0.0.1
PORT=${PORT:-8000}
WORKER_PORTS=${WORKER_PORTS:-"8001 8002"}
REDIS_PORT=${REDIS_PORT:-6390}
SCHEDULERS=${SCHEDULERS:-1}
# One number for three timeouts: Daphne's --websocket_timeout, the channel layer's
# group_expiry (settings reads it) and nginx's proxy_read_timeout.
export SIMTRAIN_WEBSOCKET_TIMEOUT=${SIMTRAIN_WEBSOCKET_TIMEOUT:-86400}
RUN=$ROOT/var/run-scaled
LOGS=$RUN/logs

[ -x "$PY" ] || { echo "error: no virtualenv at .venv; run: make install" >&2; exit 1; }
scripts/ensure-system.sh postgresql redis-server nginx

mkdir -p "$LOGS" "$RUN/nginx/tmp"
declare -a NAMES=() PIDS=() ADDRS=() LOGFILES=()
STOPPING=0
PG_STARTED_HERE=0
REDIS_STARTED_HERE=0

note() { printf '\033[1m==>\033[0m %s\n' "$*"; }

stop_all() {
  [ "$STOPPING" -eq 1 ] && return
  STOPPING=1
  trap - INT TERM
  echo
  note "stopping"
  # Reverse order: the proxy first (no new traffic), then workers, schedulers, services.
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null || true
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    for _ in $(seq 1 50); do kill -0 "${PIDS[$i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${PIDS[$i]}" 2>/dev/null || true
    wait "${PIDS[$i]}" 2>/dev/null || true
  done
  if [ "$REDIS_STARTED_HERE" -eq 1 ]; then scripts/redis.sh stop "$REDIS_PORT"; fi
  if [ "$PG_STARTED_HERE" -eq 1 ]; then scripts/postgres.sh stop; fi
  note "stopped"
}
trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

# --- services ------------------------------------------------------------------------
pg_isready -q -h "$HOST" -p "${PGPORT:-5432}" 2>/dev/null || PG_STARTED_HERE=1
note "PostgreSQL"
eval "$(scripts/postgres.sh start)"
redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || REDIS_STARTED_HERE=1
note "Redis on $HOST:$REDIS_PORT"
eval "$(REDIS_RUN_DIR=var/run-scaled/redis scripts/redis.sh start "$REDIS_PORT")"
export DATABASE_URL REDIS_URL
export SIMTRAIN_SCHEDULER=external
export DJANGO_ALLOWED_HOSTS=${DJANGO_ALLOWED_HOSTS:-"127.0.0.1,localhost"}
# nginx on this machine sets X-Real-IP; no --proxy-headers for Daphne: the client's
# address is read in one place, from what the trusted proxy set (simtrain/clientip.py).
export SIMTRAIN_TRUSTED_PROXIES=${SIMTRAIN_TRUSTED_PROXIES:-127.0.0.1}

# --- schema, demo data, static files --------------------------------------------------
note "migrate, demo data, collectstatic"
"$PY" manage.py migrate --noinput >"$LOGS/setup.log" 2>&1
"$PY" manage.py import_scenario fixtures/scenarios/* >>"$LOGS/setup.log" 2>&1 \
  || echo "warning: import_scenario failed (already imported?); see $LOGS/setup.log" >&2
if "$PY" manage.py help create_demo_users >/dev/null 2>&1; then
  "$PY" manage.py create_demo_users >>"$LOGS/setup.log" 2>&1
else
  echo "warning: manage.py create_demo_users is not there yet; no demo accounts" >&2
fi
"$PY" manage.py collectstatic --noinput >>"$LOGS/setup.log" 2>&1
STATIC_DIR=$("$PY" -c 'import django,os;os.environ.setdefault("DJANGO_SETTINGS_MODULE","simtrain.settings");django.setup();from django.conf import settings;print(settings.STATIC_ROOT)')

# --- processes -------------------------------------------------------------------------
spawn() {  # name address logfile command...
  local name=$1 addr=$2 log=$3
  shift 3
  "$@" >"$log" 2>&1 &
  NAMES+=("$name"); PIDS+=("$!"); ADDRS+=("$addr"); LOGFILES+=("$log")
}

wait_http() {  # url seconds
  "$PY" - "$1" "$2" <<'EOF'
import sys, time, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        with opener.open(url, timeout=1) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
EOF
}

upstreams=""
for port in $WORKER_PORTS; do
  spawn "daphne worker" "$HOST:$port" "$LOGS/worker-$port.log" \
    "$ROOT/.venv/bin/daphne" -b "$HOST" -p "$port" \
    --websocket_timeout "$SIMTRAIN_WEBSOCKET_TIMEOUT" simtrain.asgi:application
  upstreams+="server $HOST:$port max_fails=1 fail_timeout=5s; "
done
for n in $(seq 1 "$SCHEDULERS"); do
  spawn "scheduler" "-" "$LOGS/scheduler-$n.log" "$PY" manage.py run_scheduler
done
for port in $WORKER_PORTS; do
  wait_http "http://$HOST:$port/healthz" 30 || {
    echo "error: worker on port $port did not answer; see $LOGS/worker-$port.log" >&2; exit 1; }
done

# Run as root, nginx's workers would become `nobody`, who may not read a checkout in a
# private home or temporary directory: keep them as the user who owns the files.
user_line=""
if [ "$(id -u)" = 0 ]; then
  user_line="user $(stat -c %U "$STATIC_DIR") $(stat -c %G "$STATIC_DIR");"
fi
sed -e "s#@RUN@#$RUN/nginx#g" -e "s#@PORT@#$PORT#g" -e "s#@STATIC@#$STATIC_DIR#g" \
    -e "s#@UPSTREAMS@#$upstreams#" -e "s#@WS_TIMEOUT@#$SIMTRAIN_WEBSOCKET_TIMEOUT#g" \
    -e "s#@USER@#$user_line#" \
    scripts/nginx.conf.template >"$RUN/nginx/nginx.conf"
nginx -t -q -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" -g 'daemon off;'
spawn "nginx" "$HOST:$PORT" "$RUN/nginx/nginx-error.log" \
  nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" -g 'daemon off;'
wait_http "http://$HOST:$PORT/healthz" 15 || {
  echo "error: nginx did not answer on $PORT; see $RUN/nginx/nginx-error.log" >&2; exit 1; }

# --- what runs where -------------------------------------------------------------------
pg_pid=$(head -1 /var/run/postgresql/15-main.pid 2>/dev/null || echo "?")
echo
printf '%-16s %-8s %-22s %s\n' PROCESS PID ADDRESS LOG
printf '%-16s %-8s %-22s %s\n' "postgresql 15" "$pg_pid" "$HOST:${PGPORT:-5432}" \
  "/var/log/postgresql/postgresql-15-main.log"
printf '%-16s %-8s %-22s %s\n' "redis" \
  "$(REDIS_RUN_DIR=var/run-scaled/redis scripts/redis.sh pid "$REDIS_PORT")" \
  "$HOST:$REDIS_PORT" "$RUN/redis/redis-$REDIS_PORT.log"
for i in "${!PIDS[@]}"; do
  printf '%-16s %-8s %-22s %s\n' "${NAMES[$i]}" "${PIDS[$i]}" "${ADDRS[$i]}" "${LOGFILES[$i]}"
done
echo
echo "simtrain (scale-out) on http://$HOST:$PORT/   DATABASE_URL=$DATABASE_URL REDIS_URL=$REDIS_URL"
if "$PY" manage.py help create_demo_users >/dev/null 2>&1; then
  "$PY" manage.py create_demo_users --print-only --host "$HOST" --port "$PORT" 2>/dev/null || true
fi
echo "Ctrl-C stops everything."

# Until Ctrl-C, or until one of the processes dies (then stop the rest and say which).
# (`sleep & wait`: a signal interrupts `wait` at once, so the trap runs before the check.)
while true; do
  sleep 1 &
  wait $! || true
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "error: ${NAMES[$i]} (${ADDRS[$i]}) exited; see ${LOGFILES[$i]}" >&2
      exit 1
    fi
  done
done
