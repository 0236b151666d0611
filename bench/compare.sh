#!/usr/bin/env bash
# Compares a Roster binary built from this tree with an earlier one (BASE), in the same
# run, on both engines, in alternating rounds so that drift of the machine touches both
# alike:
#
#   get       authenticated GET /v1/users/{random id} with wrk, as a ratio against a
#             bare net/http handler serving a document of the same size, measured right
#             after each binary's run
#   patchers  C clients merge-patching different keys of one account at once
#             (bench/cmd/patchers): writes per second, and the 409 retries they needed
#
# Usage: bench/compare.sh BASE_BINARY
# Settings (environment): N=100000 ROUNDS=5 DURATION=10s CONNS=32 THREADS=2 PATCHERS=50
#   EACH=20 ENGINES="sqlite postgres" WHAT="get patchers" ROSTER_BENCH_POSTGRES_URL (default: the tests'
#   ROSTER_TEST_POSTGRES_URL; each binary gets a schema of its own in that database)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: bench/compare.sh BASE_BINARY}
N=${N:-100000}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
PATCHERS=${PATCHERS:-50}
EACH=${EACH:-20}
ENGINES=${ENGINES:-sqlite postgres}
WHAT=${WHAT:-get patchers}
PGURL=${ROSTER_BENCH_POSTGRES_URL:-${ROSTER_TEST_POSTGRES_URL:-}}
export PATH="/usr/local/go/bin:$PATH"

work=$(mktemp -d /tmp/roster-compare.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
say() { printf '%s\n' "$*"; }
command -v wrk >/dev/null || { say "wrk is not installed (apt-get install wrk)"; exit 1; }

go build -o "$work/new" ./cmd/roster
go build -o "$work/bare" ./bench/cmd/bare
go build -o "$work/seed" ./bench/cmd/seed
go build -o "$work/patchers" ./bench/cmd/patchers
cp "$BASE" "$work/base"
"$work/seed" csv "$N" >"$work/users.csv"

say "# Roster: this tree against $(basename "$BASE") — $(date -u +%Y-%m-%dT%H:%MZ)"
say "machine: $(nproc) cores, $(go version | cut -d' ' -f3); N=$N ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS PATCHERS=$PATCHERS EACH=$EACH"

# store_url ENGINE WHO: a new, empty store for one binary.
store_url() {
  case $1 in
    sqlite) echo "sqlite://$work/$2.db" ;;
    postgres)
      local schema="roster_bench_$2"
      PGOPTIONS='-c client_min_messages=warning' psql "$PGURL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
      case $PGURL in *\?*) echo "$PGURL&search_path=$schema" ;; *) echo "$PGURL?search_path=$schema" ;; esac ;;
  esac
}

# prepare WHO DB PORT: seed a store with N accounts, an administrator with a key (in
# $work/WHO.key) and the account the patchers change, and serve it.
prepare() {
  local bin="$work/$1" db=$2 port=$3
  # Binaries that create stores only on request (roster init) need it first.
  if "$bin" init --help >/dev/null 2>&1; then "$bin" init --no-admin --db "$db" >/dev/null; fi
  "$bin" users import --db "$db" "$work/users.csv" >/dev/null 2>&1
  "$bin" users create --db "$db" --username bench-admin --email bench-admin@example.org --sysadmin >/dev/null
  "$bin" users create --db "$db" --username patch-target --email patch-target@example.org >/dev/null
  "$bin" keys create --db "$db" --username bench-admin --label load >"$work/$1.key"
  ROSTER_ADMIN_PASSWORD=bench-admin-pass "$bin" serve --db "$db" --addr "127.0.0.1:$port" --log-level warn >"$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  say "$1 did not start:"; cat "$work/$1.log"; exit 1
}

rps() { N="$N" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s bench/random_user.lua "$@" | awk '/Requests\/sec/ {print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

for engine in $ENGINES; do
  if [ "$engine" = postgres ] && [ -z "$PGURL" ]; then say "no PostgreSQL URL: skipping postgres"; continue; fi
  say ""
  say "## $engine"
  declare -A port=([base]=18190 [new]=18191)
  for who in base new; do prepare "$who" "$(store_url "$engine" "$who")" "${port[$who]}"; done
  curl -sf -H "Authorization: Bearer $(cat "$work/new.key")" "http://127.0.0.1:${port[new]}/v1/users/$((N / 2))" >"$work/body.json"
  "$work/bare" --addr 127.0.0.1:18192 --body "$work/body.json" & pids+=($!)
  sleep 0.5
  for round in $(seq 1 "$ROUNDS"); do
    order="base new"
    [ $((round % 2)) = 0 ] && order="new base"
    for who in $order; do
      case " $WHAT " in *" get "*) ;; *) continue ;; esac
      r=$(rps -H "Authorization: Bearer $(cat "$work/$who.key")" "http://127.0.0.1:${port[$who]}/v1/users/")
      b=$(rps http://127.0.0.1:18192/v1/users/)
      say "round $round $who get: $r req/s, bare $b req/s, ratio $(ratio "$r" "$b")"
    done
    for who in $order; do
      case " $WHAT " in *" patchers "*) ;; *) continue ;; esac
      line=$("$work/patchers" -url "http://127.0.0.1:${port[$who]}" -key "$(cat "$work/$who.key")" -user patch-target -c "$PATCHERS" -n "$EACH")
      say "round $round $who patchers: $line"
    done
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pids=()
  sleep 1
  for who in base new; do
    if grep -q '"level":"ERROR"' "$work/$who.log"; then say "$who logged errors:"; grep '"level":"ERROR"' "$work/$who.log" | head -3; fi
  done
done
