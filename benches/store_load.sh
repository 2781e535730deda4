#!/usr/bin/env bash
# The stores under HTTP load (issue 20 part 2): the demo server (axum) on
# each store in STORES (default: memory sqlite postgres mysql), in one run,
# driven by wrk on loopback:
#   - client_credentials issuance (a seed client; its people-chosen secret is
#     verified once and then found in the cache of verified secrets, RB-06);
#   - refresh rotation: each response's new refresh token is the next
#     request's (a pool of refresh tokens minted first with the password
#     grant), so every request is a real rotation;
#   - authorization code redemption with PKCE (S256): a web client's codes
#     are minted in the same wrk run. Before it, curl signs a user in on the
#     demo's login page and allows the consent page once (remembered per
#     user and client); with that session cookie, `GET /authorize` answers
#     a 302 carrying a code at once. The Lua script keeps a pool of codes:
#     a request redeems one (grant_type=authorization_code with the
#     code_verifier and client_secret_basic) when the pool has one, else it
#     is an authorize request whose Location gives the pool a code. Both
#     halves share the connections, the server's core and wrk's latency
#     percentiles (p50/p99 of this row are of both kinds); the requests/s
#     of the row are token answers only (counted by the script, over wrk's
#     duration), and its non-2xx are failed token answers plus authorize
#     answers without a code (the expected 302s are not counted).
#
#   bash benches/store_load.sh        # or: MODE=stores bash benches/http_load.sh
#
# PostgreSQL and MariaDB: PG_URL / MYSQL_URL when set, else a throwaway
# server of their default settings (fsync on, synchronous_commit on; InnoDB
# flushing its log at every commit) in target/store_load, started from the
# installed server binaries and removed at the end. The demo runs with a
# brute-force limit far above the load (`--max-failures 100000`): 32
# connections from one address are a holder's concurrent requests, which
# the default limits cap. Server and wrk are pinned to one core each, and
# the database shares the server's core.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPUS=${SERVER_CPUS:-0}
WRK_CPUS=${WRK_CPUS:-1}
STORES=${STORES:-"memory sqlite postgres mysql"}
OUT=$PWD/target/store_load
rm -rf "$OUT"; mkdir -p "$OUT"; chmod 777 "$OUT"

command -v wrk >/dev/null 2>&1 || { apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }
# SKIP_BUILD=1: use the target/release/examples/server already there.
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --features axum,rsa-keygen,sqlite,postgres,mysql --example server

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    printf "%.2f", n }'
}
as_db_user() { if [ "$(id -u)" = 0 ]; then su "$1" -s /bin/sh -c "$2"; else sh -c "$2"; fi; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${pgdata:-}" ] && as_db_user postgres "$pgbin/pg_ctl -D $pgdata -m immediate stop" >/dev/null 2>&1 || true
  [ -n "${mypid:-}" ] && kill "$mypid" 2>/dev/null || true
  return 0
}
trap cleanup EXIT

start_postgres() {
  [ -n "${PG_URL:-}" ] && { echo "$PG_URL"; return; }
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgdata=$OUT/pg; local port; port=$(free_port)
  mkdir -p "$pgdata"; chown postgres "$pgdata" 2>/dev/null || true
  as_db_user postgres "$pgbin/initdb -D $pgdata -A trust -U postgres" >"$OUT/pg-init.log"
  as_db_user postgres "$pgbin/pg_ctl -D $pgdata -l $OUT/pg.log -o '-p $port -k $pgdata -c listen_addresses=127.0.0.1' -w start" >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

start_mysql() {
  [ -n "${MYSQL_URL:-}" ] && { echo "$MYSQL_URL"; return; }
  local dir=$OUT/my port; port=$(free_port)
  mkdir -p "$dir"; chown mysql "$dir" 2>/dev/null || true
  as_db_user mysql "mariadb-install-db --no-defaults --datadir=$dir/data --auth-root-authentication-method=normal" >"$OUT/my-init.log" 2>&1
  printf '%s\n' "CREATE USER 'bench'@'127.0.0.1';" "GRANT ALL ON *.* TO 'bench'@'127.0.0.1';" "CREATE DATABASE bench;" >"$dir/init.sql"
  chmod 644 "$dir/init.sql"
  if [ "$(id -u)" = 0 ]; then
    taskset -c "$SERVER_CPUS" mariadbd --no-defaults --user=mysql --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
      --socket="$dir/sock" --init-file="$dir/init.sql" >"$OUT/my.log" 2>&1 &
  else
    taskset -c "$SERVER_CPUS" mariadbd --no-defaults --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
      --socket="$dir/sock" --init-file="$dir/init.sql" >"$OUT/my.log" 2>&1 &
  fi
  mypid=$!
  for _ in $(seq 1 100); do grep -q 'ready for connections' "$OUT/my.log" && break; sleep 0.2; done
  echo "mysql://bench@127.0.0.1:$port/bench"
}

# The seed: one client for the first two loads, a web client for the code
# path (its redirect URI is never contacted), and a user for the password
# grant and the login page.
secret="bench client secret, chosen by a person"
password="bench user password"
redirect_uri="http://127.0.0.1:9/callback"
port=$(free_port)
cat >"$OUT/seed.json" <<JSON
{"issuer": "http://127.0.0.1:$port",
 "clients": [{"client_id": "bench", "client_secret": "$secret", "client_name": "Benchmark",
   "redirect_uris": [], "grant_types": ["client_credentials", "password", "refresh_token"],
   "response_types": [], "scope": "read", "token_endpoint_auth_method": "client_secret_basic"},
  {"client_id": "bench-web", "client_secret": "$secret", "client_name": "Benchmark web",
   "redirect_uris": ["$redirect_uri"], "grant_types": ["authorization_code"],
   "response_types": ["code"], "scope": "read", "token_endpoint_auth_method": "client_secret_basic"}],
 "users": [{"username": "bob", "password": "$password"}]}
JSON
basic=$(printf '%s:%s' bench "$secret" | base64 -w0)
# The code path: one fixed PKCE verifier serves every code.
web_basic=$(printf '%s:%s' bench-web "$secret" | base64 -w0)
verifier=bench-code-verifier-0123456789-abcdefghijklmnopqrstuvwxyz
challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
authorize_path="/authorize?response_type=code&client_id=bench-web&redirect_uri=$(python3 -c 'import sys,urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$redirect_uri")&code_challenge=$challenge&code_challenge_method=S256&scope=read&state=bench"

summary=$OUT/summary.md
{
  echo "| store | path | requests/s | p50 (ms) | p99 (ms) | non-2xx |"
  echo "|---|---|---:|---:|---:|---:|"
} >"$summary"

# A wrk run of WARMUP first, then the measured one; `prepare` runs before
# each (the refresh pool: tokens rotated when the warm-up's connections
# closed mid-request are spent, and must not be sent again).
prepare() { :; }
run_wrk() { # label script url
  prepare
  taskset -c "$WRK_CPUS" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -s "$2" "$3" >/dev/null
  prepare
  local result=$OUT/$1.txt
  taskset -c "$WRK_CPUS" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$2" "$3" >"$result"
  # A script that counts its own answers (the code path) prints
  # `Counted/sec:` and `Counted non-2xx:` in its done(); wrk's own
  # figures otherwise.
  local rate failed
  rate=$(awk '/^Counted\/sec:/ { r = $2 } /^Requests\/sec:/ && r == "" { w = $2 } END { printf "%.0f", r != "" ? r : w }' "$result")
  failed=$(awk '/^Counted non-2xx:/ { print $3 }' "$result" | grep . || awk '/Non-2xx/ { print $5 }' "$result" | grep . || echo 0)
  echo "| ${1%%-*} | ${1#*-} | $rate | $(to_ms "$(awk '$1 == "50%" { print $2 }' "$result")") | $(to_ms "$(awk '$1 == "99%" { print $2 }' "$result")") | $failed |" >>"$summary"
}

for store in $STORES; do
  case $store in
    memory) db=() ;;
    sqlite) db=(--database "sqlite://$OUT/bench.db") ;;
    postgres) db=(--database "$(start_postgres)") ;;
    mysql) db=(--database "$(start_mysql)") ;;
    *) echo "unknown store $store" >&2; exit 1 ;;
  esac
  RUST_LOG=warn taskset -c "$SERVER_CPUS" target/release/examples/server --addr "127.0.0.1:$port" \
    --seed "$OUT/seed.json" --max-failures 100000 "${db[@]}" >"$OUT/$store.out" 2>"$OUT/$store.err" &
  pid=$!; pids+=("$pid")
  for _ in $(seq 1 300); do grep -q '^listening on ' "$OUT/$store.out" && break; sleep 0.1; done
  grep -q '^listening on ' "$OUT/$store.out" || { echo "server on $store did not start" >&2; cat "$OUT/$store.err" >&2; exit 1; }
  url=http://127.0.0.1:$port/token

  cat >"$OUT/cc.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Basic $basic" --data 'grant_type=client_credentials&scope=read' "$url")
  [ "$code" = 200 ] || { echo "$store: client_credentials HTTP $code" >&2; exit 1; }
  run_wrk "$store-client_credentials" "$OUT/cc.lua" "$url"

  # A pool of refresh tokens, minted with the password grant.
  prepare() {
    : >"$OUT/refresh.txt"
    for _ in $(seq 1 $((CONNECTIONS * 2))); do
      curl -sS -H "Authorization: Basic $basic" --data-urlencode grant_type=password --data-urlencode username=bob \
        --data-urlencode "password=$password" --data-urlencode scope=read "$url" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])' >>"$OUT/refresh.txt"
    done
  }
  cat >"$OUT/refresh.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
pool = {}
for line in io.lines("$OUT/refresh.txt") do pool[#pool + 1] = line end
request = function()
  local token = table.remove(pool) or "exhausted"
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end
response = function(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then pool[#pool + 1] = token
  elseif not told then told = true; io.stderr:write("refresh rotation: HTTP " .. status .. ": " .. body .. "\n") end
end
LUA
  run_wrk "$store-refresh_rotation" "$OUT/refresh.lua" "$url"
  prepare() { :; }

  # Authorization code redemption: sign bob in and allow the consent page
  # once (the demo remembers consent per user and client), then check that
  # the session's authorize request answers a code at once and that a code
  # redeems.
  base=http://127.0.0.1:$port
  jar=$OUT/$store.cookies
  hidden() { sed -n "s/.*<input type=\"hidden\" name=\"$1\" value=\"\([^\"]*\)\".*/\1/p" "$2" | head -1; }
  curl -sS -c "$jar" -b "$jar" -o "$OUT/login.html" "$base$authorize_path"
  curl -sS -c "$jar" -b "$jar" -o "$OUT/consent.html" --data-urlencode "csrf=$(hidden csrf "$OUT/login.html")" \
    --data-urlencode "resume=$(hidden resume "$OUT/login.html")" --data-urlencode username=bob \
    --data-urlencode "password=$password" "$base/login"
  curl -sS -c "$jar" -b "$jar" -o /dev/null --data-urlencode "csrf=$(hidden csrf "$OUT/consent.html")" \
    --data-urlencode "resume=$(hidden resume "$OUT/consent.html")" --data-urlencode decision=allow "$base/consent"
  cookie=$(awk -F '\t' 'NF == 7 && (!/^#/ || /^#HttpOnly_/) { printf "%s%s=%s", n++ ? "; " : "", $6, $7 }' "$jar")
  location=$(curl -sS -o /dev/null -w '%{redirect_url}' -H "Cookie: $cookie" "$base$authorize_path")
  code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$location")
  [ -n "$code" ] || { echo "$store: authorize with the session gave no code: ${location:-no redirect}" >&2; exit 1; }
  answer=$(curl -sS -o "$OUT/code-check.json" -w '%{http_code}' -H "Authorization: Basic $web_basic" --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$code" --data-urlencode "redirect_uri=$redirect_uri" --data-urlencode "code_verifier=$verifier" "$url")
  [ "$answer" = 200 ] || { echo "$store: authorization_code HTTP $answer: $(cat "$OUT/code-check.json")" >&2; exit 1; }
  cat >"$OUT/code.lua" <<LUA
token_headers = {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = "Basic $web_basic"}
authorize_headers = {["Cookie"] = "$cookie"}
redeem = "grant_type=authorization_code&redirect_uri=$(python3 -c 'import sys,urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$redirect_uri")&code_verifier=$verifier&code="
pool = {}
tokens, token_failures, authorizes, authorize_failures = 0, 0, 0, 0
request = function()
  local code = table.remove(pool)
  if code then return wrk.format("POST", "/token", token_headers, redeem .. code) end
  return wrk.format("GET", "$authorize_path", authorize_headers, nil)
end
response = function(status, headers, body)
  if status == 302 or status == 303 then
    authorizes = authorizes + 1
    local code = (headers["location"] or headers["Location"] or ""):match("[?&]code=([^&]+)")
    if code then pool[#pool + 1] = code
    else
      authorize_failures = authorize_failures + 1
      if not told then told = true; io.stderr:write("authorize: HTTP " .. status .. " without a code: " .. (headers["location"] or headers["Location"] or "") .. "\n") end
    end
  else
    -- Anything else counts as a token answer: one without a token (an
    -- error, or a login page if the session were lost) is a failure.
    tokens = tokens + 1
    if status < 200 or status > 299 or not body:find('"access_token"', 1, true) then
      token_failures = token_failures + 1
      if not told then told = true; io.stderr:write("code redemption: HTTP " .. status .. ": " .. body .. "\n") end
    end
  end
end
-- done() runs in the main Lua state: the counts are read from the thread's.
threads = {}
setup = function(thread) threads[#threads + 1] = thread end
done = function(summary)
  local t, tf, a, af = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    t, tf = t + thread:get("tokens"), tf + thread:get("token_failures")
    a, af = a + thread:get("authorizes"), af + thread:get("authorize_failures")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("Token answers: %d (non-2xx %d); authorize answers: %d (without a code %d); in %.2fs\n", t, tf, a, af, secs))
  io.write(string.format("Counted/sec: %.2f\n", t / secs))
  io.write(string.format("Counted non-2xx: %d\n", tf + af))
end
LUA
  run_wrk "$store-code_redemption" "$OUT/code.lua" "$base/"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

echo
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'); wrk -t1 -c$CONNECTIONS -d$DURATION --latency; server (and database) on CPU $SERVER_CPUS, wrk on CPU $WRK_CPUS"
echo
cat "$summary"
