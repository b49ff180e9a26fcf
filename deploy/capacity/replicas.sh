#!/usr/bin/env bash
# Measures intake and processing with 1, 2 and 3 serve replicas on one
# PostgreSQL database: for each count, a fresh schema, N replicas, one
# loadgen per replica (sharing the events and clients), then the time until
# every accepted event is applied. Prints one line per count, with the CPU
# seconds per 1,000 events of the replicas and of PostgreSQL.
#
#   deploy/capacity/replicas.sh [postgres-url] [events]
set -euo pipefail
base=${1:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
events=${2:-30000}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/waybill" ./cmd/waybill
psqlq() { PGOPTIONS="-c client_min_messages=warning" psql "$base" -qtAc "$1"; }
cpu() { # utime+stime in clock ticks of the given pids
  local t=0
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat")))
  done
  echo "$t"
}
pgcpu() { cpu $(pgrep -x postgres || true); }
hz=$(getconf CLK_TCK)
printf '%-9s %12s %14s %16s %18s %18s\n' replicas accepted/s applied_in_s end_to_end/s replica_cpu_ms/1k postgres_cpu_ms/1k
for n in 1 2 3; do
  schema=cap_$$_$n
  psqlq "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema"
  url="$base&search_path=$schema"
  export WAYBILL_STORAGE_DATABASE_URL="$url" WAYBILL_ENCRYPTION_KEY_FILE="$dir/kek" WAYBILL_LOG_LEVEL=warn
  [ -f "$dir/kek" ] || "$dir/waybill" keys new-kek >"$dir/kek"
  key=$("$dir/waybill" keys create --name "cap$n" --scopes events:write 2>/dev/null | tail -1)
  pids=()
  for i in $(seq 1 "$n"); do
    "$dir/waybill" serve --addr "127.0.0.1:$((18080 + i))" >"$dir/serve-$n-$i.log" 2>&1 &
    pids+=($!)
  done
  for i in $(seq 1 "$n"); do
    until curl -fs "http://127.0.0.1:$((18080 + i))/readyz" >/dev/null; do sleep 0.2; done
  done
  c0=$(cpu "${pids[@]}"); p0=$(pgcpu); t0=$(date +%s.%N)
  lg=()
  for i in $(seq 1 "$n"); do
    "$dir/waybill" loadgen --url "http://127.0.0.1:$((18080 + i))" --key "$key" --events $((events / n)) --clients $((64 / n)) >"$dir/lg-$n-$i.txt" 2>&1 &
    lg+=($!)
  done
  wait "${lg[@]}"
  t1=$(date +%s.%N)
  until [ "$(psqlq "SELECT COUNT(*) FROM $schema.events WHERE state = 'pending'")" = 0 ]; do sleep 0.2; done
  t2=$(date +%s.%N)
  c1=$(cpu "${pids[@]}"); p1=$(pgcpu)
  total=$(psqlq "SELECT COUNT(*) FROM $schema.events")
  awk -v n="$n" -v tot="$total" -v a="$(echo "$t1 - $t0" | bc)" -v b="$(echo "$t2 - $t0" | bc)" \
      -v c="$((c1 - c0))" -v p="$((p1 - p0))" -v hz="$hz" \
      'BEGIN { printf "%-9d %12.0f %14.1f %16.0f %18.1f %18.1f\n", n, tot/a, b, tot/b, c*1000/hz/tot*1000, p*1000/hz/tot*1000 }'
  kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  psqlq "DROP SCHEMA $schema CASCADE"
done
