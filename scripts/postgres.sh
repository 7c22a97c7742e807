#!/usr/bin/env bash
# Start (or stop) the machine's PostgreSQL 15 cluster for tests and print the
# DATABASE_URL to use, as a shell `export` line:  eval "$(scripts/postgres.sh start)"
set -euo pipefail
cd "$(dirname "$0")/.."
PGPORT=${PGPORT:-5432}
ROLE=simtrain
PASSWORD=simtrain

case "${1:-start}" in
  start)
    scripts/ensure-system.sh postgresql >&2
    if ! command -v pg_ctlcluster >/dev/null; then
      echo "error: pg_ctlcluster not found (Debian's postgresql-common)" >&2; exit 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
      echo "error: starting the PostgreSQL cluster needs root; or set DATABASE_URL yourself" >&2
      exit 1
    fi
    pg_lsclusters -h | grep -q '^15 *main' || pg_createcluster 15 main >&2
    pg_ctlcluster 15 main start >&2 2>/dev/null || true
    for _ in $(seq 1 30); do
      su postgres -c "pg_isready -q -h 127.0.0.1 -p $PGPORT" && break
      sleep 1
    done
    su postgres -c "psql -q -p $PGPORT -tc \"SELECT 1 FROM pg_roles WHERE rolname='$ROLE'\"" | grep -q 1 \
      || su postgres -c "psql -q -p $PGPORT -c \"CREATE ROLE $ROLE LOGIN SUPERUSER PASSWORD '$PASSWORD'\"" >&2
    su postgres -c "psql -q -p $PGPORT -tc \"SELECT 1 FROM pg_database WHERE datname='$ROLE'\"" | grep -q 1 \
      || su postgres -c "createdb -p $PGPORT -O $ROLE $ROLE" >&2
    echo "export DATABASE_URL=postgres://$ROLE:$PASSWORD@127.0.0.1:$PGPORT/$ROLE"
    ;;
  stop)
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
