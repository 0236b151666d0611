#!/usr/bin/env bash
# Roster's load harness. Everything is measured against a baseline taken in the same
# run, on the same machine, and reported as a ratio:
#
#   store   go test -bench: the store's get-by-username against a bare prepared SELECT
#           of the same columns on the same SQLite file (N accounts)
#   import  `roster users import` of N accounts from CSV against a raw batched INSERT of
#           the same rows into the same table (bench/cmd/seed rawinsert)
#   http    authenticated GET /v1/users/{id} (random ids) with wrk, against a bare
#           net/http handler serving a document of the same size (bench/cmd/bare)
#   openedx Open edX's GET /api/user/v1/accounts/{username} of random accounts by another
#           user (visibility applied), of one account by its owner, and its merge-PATCH of
#           one field by the owner, each against the bare handler serving a document of
#           the same size (SQLite)
#   redcap  REDCap's import_users of N members' rights as CSV into one project (POST
#           /api/), against raw batched INSERTs of the same member rows; and the CSV
#           export of them, against a raw SELECT of the same columns; with the export's
#           peak heap at 10,000 and at N members (go test -bench, SQLite and, when
#           ROSTER_TEST_POSTGRES_URL is set, PostgreSQL)
#
# Usage: bench/load.sh [store|import|http|openedx|redcap|all]   (default all)
# Settings (environment): N=100000 DURATION=10s CONNS=32 THREADS=2 ROUNDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
WHAT=${1:-all}
export PATH="/usr/local/go/bin:$PATH"

work=$(mktemp -d /tmp/roster-load.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

say() { printf '%s\n' "$*"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

say "# Roster load harness — $(date -u +%Y-%m-%dT%H:%MZ)"
say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3)"
say "settings: N=$N DURATION=$DURATION CONNS=$CONNS THREADS=$THREADS ROUNDS=$ROUNDS"

go build -o "$work/roster" ./cmd/roster
go build -o "$work/bare" ./bench/cmd/bare
go build -o "$work/seed" ./bench/cmd/seed

if [ "$WHAT" = all ] || [ "$WHAT" = store ]; then
  say ""
  say "## store (SQLite, $N accounts): go test -bench"
  out=$(ROSTER_BENCH_USERS=$N go test -run XXX -bench 'BenchmarkBareSelectByUsername/sqlite|BenchmarkGetByUsername/sqlite' -benchtime 3s -count "$ROUNDS" ./bench/)
  printf '%s\n' "$out" | grep '^Benchmark'
  bare=$(printf '%s\n' "$out" | awk '/^BenchmarkBareSelectByUsername/ {s+=$3; n++} END {print s/n}')
  store=$(printf '%s\n' "$out" | awk '/^BenchmarkGetByUsername/ {s+=$3; n++} END {print s/n}')
  say "bare SELECT: $(awk -v x="$bare" 'BEGIN{printf "%.0f", 1e9/x}') reads/s; store GetAccount: $(awk -v x="$store" 'BEGIN{printf "%.0f", 1e9/x}') reads/s"
  say "ratio store/bare: $(ratio "$bare" "$store")   (target ≥ 0.80)"
fi

if [ "$WHAT" = all ] || [ "$WHAT" = import ] || [ "$WHAT" = http ] || [ "$WHAT" = openedx ]; then
  "$work/seed" csv "$N" > "$work/users.csv"
fi

if [ "$WHAT" = all ] || [ "$WHAT" = import ]; then
  say ""
  say "## import ($N accounts, SQLite)"
  for round in $(seq 1 "$ROUNDS"); do
    rm -f "$work"/raw.db* "$work"/imp.db*
    raw=$("$work/seed" rawinsert "$work/raw.db" "$N" | awk '{print $5}')
    "$work/roster" init --no-admin --db "sqlite://$work/imp.db" >/dev/null
    start=$(date +%s.%N)
    line=$("$work/roster" users import --db "sqlite://$work/imp.db" "$work/users.csv" 2>&1 | grep '^imported')
    end=$(date +%s.%N)
    secs=$(printf '%s\n' "$line" | sed -E 's/.* in ([0-9.]+)(ms|s).*/\1 \2/' | awk '{ if ($2 == "ms") print $1/1000; else print $1 }')
    imp=$(awk -v n="$N" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    wall=$(awk -v n="$N" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
    say "round $round: raw insert $raw rows/s; import $imp rows/s (whole command: $wall rows/s); ratio $(ratio "$imp" "$raw") (whole command $(ratio "$wall" "$raw"))   (target ≥ 0.50)"
  done
fi

if [ "$WHAT" = all ] || [ "$WHAT" = redcap ]; then
  say ""
  say "## redcap ($N members in one project): go test -bench"
  out=$(ROSTER_BENCH_USERS=$N ROSTER_BENCH_MEMBERS=$N go test -run XXX -bench 'BenchmarkREDCapImport|BenchmarkRawMemberInsert|BenchmarkREDCapExport|BenchmarkRawMemberSelect' \
    -benchtime 1x -count "$ROUNDS" -timeout 60m ./bench/)
  printf '%s\n' "$out" | grep '^Benchmark'
  rate() { printf '%s\n' "$out" | awk -v pat="$1" '$1 ~ pat { for (i = 1; i < NF; i++) if ($(i+1) == "rows/s") { s += $i; n++ } } END { if (n) printf "%.0f", s / n }'; }
  heap() { printf '%s\n' "$out" | awk -v pat="$1" '$1 ~ pat { for (i = 1; i < NF; i++) if ($(i+1) == "heap-MB") { if ($i > m) m = $i } } END { printf "%.1f", m }'; }
  for engine in sqlite postgres; do
    imp=$(rate "^BenchmarkREDCapImport/$engine"); raw=$(rate "^BenchmarkRawMemberInsert/$engine")
    exp=$(rate "^BenchmarkREDCapExport/$engine/members=$N-"); sel=$(rate "^BenchmarkRawMemberSelect/$engine")
    [ -n "$imp" ] || continue
    say "$engine: import $imp rows/s, raw insert $raw rows/s, ratio $(ratio "$imp" "$raw"); export $exp rows/s, raw select $sel rows/s, ratio $(ratio "$exp" "$sel")"
    say "$engine: export peak heap $(heap "^BenchmarkREDCapExport/$engine/members=10000-") MB at 10000 members, $(heap "^BenchmarkREDCapExport/$engine/members=$N-") MB at $N"
  done
fi

if [ "$WHAT" = all ] || [ "$WHAT" = http ]; then
  say ""
  say "## http: authenticated GET /v1/users/{random id}, $N accounts, SQLite"
  if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; fi
  fi
  command -v wrk >/dev/null || { say "wrk is not installed (apt-get install wrk)"; exit 1; }
  db="sqlite://$work/http.db"
  "$work/roster" init --no-admin --db "$db" >/dev/null
  "$work/roster" users import --db "$db" "$work/users.csv" >/dev/null 2>&1
  "$work/roster" users create --db "$db" --username bench-admin --email bench-admin@example.org --sysadmin >/dev/null
  key=$("$work/roster" keys create --db "$db" --username bench-admin --label load)
  "$work/roster" serve --db "$db" --addr 127.0.0.1:18090 --log-level warn >"$work/serve.log" 2>&1 & pids+=($!)
  for _ in $(seq 1 50); do curl -sf http://127.0.0.1:18090/readyz >/dev/null && break; sleep 0.1; done
  curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:18090/v1/users/$((N / 2))" >"$work/body.json"
  say "response: $(wc -c <"$work/body.json") bytes (a sysadmin reads every attribute)"
  "$work/bare" --addr 127.0.0.1:18091 --body "$work/body.json" & pids+=($!)
  sleep 0.5
  rps() { N="$N" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s bench/random_user.lua "$@" | awk '/Requests\/sec/ {print $2}'; }
  for round in $(seq 1 "$ROUNDS"); do
    r=$(rps -H "Authorization: Bearer $key" http://127.0.0.1:18090/v1/users/)
    b=$(rps http://127.0.0.1:18091/v1/users/)
    say "round $round: roster $r req/s; bare handler $b req/s; ratio $(ratio "$r" "$b")   (target ≥ 0.50)"
  done
  if grep -q '"level":"ERROR"' "$work/serve.log"; then say "the server logged errors:"; grep '"level":"ERROR"' "$work/serve.log" | head -5; fi
fi

if [ "$WHAT" = all ] || [ "$WHAT" = openedx ]; then
  say ""
  say "## openedx: GET and PATCH /api/user/v1/accounts/{username}, $N accounts (privacy all_users), SQLite"
  command -v wrk >/dev/null || { say "wrk is not installed (apt-get install wrk)"; exit 1; }
  db="sqlite://$work/openedx.db"
  "$work/roster" init --no-admin --db "$db" >/dev/null
  "$work/roster" users import --db "$db" "$work/users.csv" >/dev/null 2>&1
  "$work/roster" users create --db "$db" --username bench-reader --email bench-reader@example.org >/dev/null
  "$work/roster" users create --db "$db" --username bench-owner --email bench-owner@example.org --name "Bench Owner" >/dev/null
  reader=$("$work/roster" keys create --db "$db" --username bench-reader --label load)
  owner=$("$work/roster" keys create --db "$db" --username bench-owner --label load)
  "$work/roster" serve --db "$db" --addr 127.0.0.1:18093 --log-level warn >"$work/openedx.log" 2>&1 & pids+=($!)
  for _ in $(seq 1 50); do curl -sf http://127.0.0.1:18093/readyz >/dev/null && break; sleep 0.1; done
  base=http://127.0.0.1:18093/api/user/v1/accounts/
  owned=${base}bench-owner
  curl -sf -X PATCH -H "Authorization: Bearer $owner" -H "Content-Type: application/merge-patch+json" \
    -d '{"bio": "Researcher, revision 0.", "country": "DK"}' "$owned" >/dev/null
  # One bare handler per measure, each serving a document of the size Roster answers.
  curl -sf -H "Authorization: Bearer $reader" "${base}user$(printf %06d $((N / 2)))" >"$work/oe-other.json"
  curl -sf -H "Authorization: Bearer $owner" "$owned" >"$work/oe-own.json"
  curl -sf -X PATCH -H "Authorization: Bearer $owner" -H "Content-Type: application/merge-patch+json" -d '{"bio": "Researcher, revision 0."}' "$owned" >"$work/oe-patch.json"
  say "responses: another's account $(wc -c <"$work/oe-other.json") bytes, one's own $(wc -c <"$work/oe-own.json") bytes, after a PATCH $(wc -c <"$work/oe-patch.json") bytes"
  "$work/bare" --addr 127.0.0.1:18094 --body "$work/oe-other.json" & pids+=($!)
  "$work/bare" --addr 127.0.0.1:18095 --body "$work/oe-own.json" & pids+=($!)
  "$work/bare" --addr 127.0.0.1:18096 --body "$work/oe-patch.json" & pids+=($!)
  sleep 0.5
  wrkrps() { N="$N" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$@" | awk '/Requests\/sec/ {print $2}'; }
  for round in $(seq 1 "$ROUNDS"); do
    r=$(wrkrps -s bench/random_username.lua -H "Authorization: Bearer $reader" "$base")
    b=$(wrkrps -s bench/random_username.lua http://127.0.0.1:18094/api/user/v1/accounts/)
    say "round $round another's account: roster $r req/s; bare $b req/s; ratio $(ratio "$r" "$b")"
    r=$(wrkrps -H "Authorization: Bearer $owner" "$owned")
    b=$(wrkrps http://127.0.0.1:18095/api/user/v1/accounts/bench-owner)
    say "round $round one's own account: roster $r req/s; bare $b req/s; ratio $(ratio "$r" "$b")"
    r=$(wrkrps -s bench/patch_bio.lua -H "Authorization: Bearer $owner" "$owned")
    b=$(wrkrps -s bench/patch_bio.lua http://127.0.0.1:18096/api/user/v1/accounts/bench-owner)
    say "round $round PATCH of one field: roster $r req/s; bare $b req/s; ratio $(ratio "$r" "$b")"
  done
  if grep -q '"level":"ERROR"' "$work/openedx.log"; then say "the server logged errors:"; grep '"level":"ERROR"' "$work/openedx.log" | head -5; fi
fi
