#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis for local runs and fault tests.
#
#   services.sh start DIR [PGPORT] [REDISPORT]   prints DATABASE_URL=… and REDIS_URL=…
#   services.sh stop DIR                          stops what start started in DIR
#   services.sh stop-postgres DIR | start-postgres DIR   (fault tests: the same cluster again)
#   services.sh stop-redis DIR | start-redis DIR
#
# Ports default to 55432 / 56379, away from the machine's own services. As
# root, PostgreSQL runs as the `postgres` system user (initdb refuses root).
# REDIS_APPENDONLY=yes keeps Redis data across stop-redis/start-redis;
# PG_SYNCHRONOUS_COMMIT=on makes every acknowledged commit survive the
# crash-like `stop-postgres` (the default, off, is faster and loses the
# last moments of commits on such a stop).
set -euo pipefail
cmd=${1:?usage: services.sh start|stop DIR [PGPORT] [REDISPORT]}
dir=${2:?usage: services.sh start|stop DIR [PGPORT] [REDISPORT]}
PGBIN=${PGBIN:-$(pg_config --bindir)}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
    local port; port=$(cat "$dir/pg.port")
    as_pg "$PGBIN/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=${PG_SYNCHRONOUS_COMMIT:-off} -c full_page_writes=off -c max_connections=200" \
        start >/dev/null
}
start_redis() {
    local port; port=$(cat "$dir/redis.port")
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly "${REDIS_APPENDONLY:-no}" --appendfsync always \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "redis did not start on $port" >&2; return 1
}
stop_postgres() { as_pg "$PGBIN/pg_ctl" -D "$dir/pg" -m immediate -w stop >/dev/null 2>&1 || true; }
stop_redis() {
    if [ -f "$dir/redis.pid" ]; then
        local pid; pid=$(cat "$dir/redis.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$dir/redis.pid"
    fi
}

case $cmd in
start)
    mkdir -p "$dir"
    echo "${3:-55432}" > "$dir/pg.port"; echo "${4:-56379}" > "$dir/redis.port"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$PGBIN/initdb" -D "$dir/pg" -U postgres -A trust -E UTF8 --no-sync >/dev/null
    start_postgres
    start_redis
    echo "DATABASE_URL=postgres://postgres@127.0.0.1:$(cat "$dir/pg.port")/postgres"
    echo "REDIS_URL=redis://127.0.0.1:$(cat "$dir/redis.port")" ;;
stop) stop_postgres; stop_redis ;;
stop-postgres) stop_postgres ;;
start-postgres) start_postgres ;;
stop-redis) stop_redis ;;
start-redis) start_redis ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
