#!/usr/bin/env bash
# bench/load.sh: load test of the reference server, `audexum serve`, on
# 127.0.0.1 with wrk.
#
# Builds cmd/audexum, creates a fresh data directory with an API key and a
# server client (scope data:read), starts the server on a free loopback
# port and gets an access token from its token endpoint. Then, for each
# connection count, it drives four routes for DURATION each, in turn:
#   healthz  GET /healthz              no credential (pings the database)
#   metadata GET /.well-known/oauth-authorization-server
#                                      no credential, a constant document
#   apikey   GET /v1/data              Authorization: Bearer <API key>
#   token    GET /v1/data              Authorization: Bearer <access token>
# and prints, in Markdown: requests per second, latency p50/p90/p99, the
# ratio of each authenticated route to /healthz at the same connection
# count, error counts, the server's RSS (cold, after warm-up, after each
# connection count) and its thread and goroutine counts when idle before
# and after the load.
#
# The server has no debug endpoint, and none is added for this: goroutines
# are counted from the stack dump the Go runtime writes on SIGQUIT
# (GOTRACEBACK=all), which ends the process. The idle baseline comes from a
# first, short-lived server on the same data directory.
#
# wrk is installed with apt-get when missing. Everything stays on
# 127.0.0.1, every wrk run is bounded by DURATION, and the server is killed
# on exit whatever happens.
#
# Environment:
#   DURATION     length of each wrk run (default 10s)
#   WARMUP       length of the warm-up run per route (default 3s)
#   CONNECTIONS  connection counts (default "16 64 256")
#   THREADS      wrk threads (default 2: the machine has 2 cores)
#
# With the defaults it takes about three minutes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-16 64 256}
THREADS=${THREADS:-2}

work=$(mktemp -d -t audexum-load.XXXXXX)
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "load.sh: $*" >&2; }
fail() {
	log "FAIL: $*"
	exit 1
}

for tool in curl jq go; do
	command -v "$tool" >/dev/null || fail "$tool is required"
done
if ! command -v wrk >/dev/null; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	log "installing wrk"
	$sudo apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >&2
fi

log "building cmd/audexum"
(cd "$root" && go build -o "$work/audexum" ./cmd/audexum)
bin="$work/audexum"
data="$work/data"

key=$("$bin" apikey create --name load --scope data:read --json --data-dir "$data" | jq -r .key)
client=$("$bin" client create --name load --type server --scope data:read --json --data-dir "$data")
client_id=$(jq -r .client_id <<<"$client")
client_secret=$(jq -r .client_secret <<<"$client")
[ -n "$key" ] && [ "$key" != null ] || fail "no API key created"
[ -n "$client_secret" ] && [ "$client_secret" != null ] || fail "no client created"

# start_server LOGFILE: starts the server, sets server_pid and url, and
# waits until /healthz answers 200.
start_server() {
	: >"$work/stdout"
	GOTRACEBACK=all "$bin" serve --addr 127.0.0.1:0 --data-dir "$data" >"$work/stdout" 2>"$1" &
	server_pid=$!
	url=""
	for _ in $(seq 200); do
		url=$(grep -o 'https://[^ ]*' "$work/stdout" || true)
		[ -n "$url" ] && break
		kill -0 "$server_pid" 2>/dev/null || fail "server exited: $(tail -5 "$1")"
		sleep 0.05
	done
	[ -n "$url" ] || fail "server did not print its address"
	for _ in $(seq 100); do
		[ "$(curl -sk -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ] && return
		sleep 0.1
	done
	fail "/healthz never answered 200"
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$server_pid/status"; }

# stop_counting LOGFILE: ends the server with SIGQUIT, waits for it to
# exit and sets goroutines to the number its stack dump lists. It must not
# run in a subshell: only this shell can wait for the server.
stop_counting() {
	kill -QUIT "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
	# "goroutine N gp=… m=… [state]:", the runtime's own included;
	# goroutine 0 is the signal-handling thread's stack, not a goroutine.
	goroutines=$(grep -c '^goroutine [1-9][0-9]* ' "$1" || true)
}

log "idle baseline"
start_server "$work/idle.log"
sleep 1
idle_threads=$(threads)
idle_rss=$(rss_kb)
stop_counting "$work/idle.log"
idle_goroutines=$goroutines

log "starting the server under test"
start_server "$work/server.log"
cold_rss=$(rss_kb)
token=$(curl -sk -u "$client_id:$client_secret" -d grant_type=client_credentials -d scope=data:read "$url/oauth/token" | jq -r .access_token)
[ -n "$token" ] && [ "$token" != null ] || fail "no access token from $url/oauth/token"

# The three routes must answer 200 before they are timed.
declare -A path authz
path[healthz]=/healthz
authz[healthz]=""
path[metadata]=/.well-known/oauth-authorization-server
authz[metadata]=""
path[apikey]=/v1/data
authz[apikey]="Bearer $key"
path[token]=/v1/data
authz[token]="Bearer $token"
routes="healthz metadata apikey token"
for r in $routes; do
	code=$(curl -sk -o "$work/body" -w '%{http_code}' -H "Authorization: ${authz[$r]}" "$url${path[$r]}")
	[ "$code" = 200 ] || fail "$r: $url${path[$r]} answered $code: $(cat "$work/body")"
done
grep -q '"method":"api_key"' <(curl -sk -H "Authorization: ${authz[apikey]}" "$url/v1/data") || fail "apikey route does not see an API key principal"
grep -q '"method":"client_credentials"' <(curl -sk -H "Authorization: ${authz[token]}" "$url/v1/data") || fail "token route does not see a client-credentials principal"

# wrk_run ROUTE CONNECTIONS DURATION: prints the RESULT line.
wrk_run() {
	local out
	out=$(AUTHZ="${authz[$1]}" wrk -t"$THREADS" -c"$2" -d"$3" --timeout 5s -s "$here/load.lua" "$url${path[$1]}")
	kill -0 "$server_pid" 2>/dev/null || fail "server died during $1 at $2 connections"
	grep '^RESULT' <<<"$out" || fail "no result from wrk: $out"
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

# Warm-up at the largest connection count, so the connection buffers and
# goroutine stacks of the heaviest run are already counted in the RSS.
max_conns=$(tr ' ' '\n' <<<"$CONNECTIONS" | sort -n | tail -1)
log "warm-up: $WARMUP per route at $max_conns connections"
for r in $routes; do wrk_run "$r" "$max_conns" "$WARMUP" >/dev/null; done
warm_rss=$(rss_kb)

declare -A res rss_after
for c in $CONNECTIONS; do
	for r in $routes; do
		log "$r, $c connections, $DURATION"
		res[$r,$c]=$(wrk_run "$r" "$c" "$DURATION")
	done
	rss_after[$c]=$(rss_kb)
done
sleep 2 # let wrk's closed connections end their server goroutines
after_threads=$(threads)
final_rss=$(rss_kb)
stop_counting "$work/server.log"
after_goroutines=$goroutines

total_status=0
total_socket=0
echo "### Load test of audexum serve ($(date -u +%Y-%m-%dT%H:%MZ), wrk -t$THREADS, $DURATION per run, HTTPS on 127.0.0.1)"
echo
echo "Built from $(git -C "$root" describe --always --dirty 2>/dev/null || echo "an unknown commit") (-dirty: with uncommitted changes in the working tree); $(go version | cut -d' ' -f3); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores shared by wrk and the server."
echo
echo "| connections | route | req/s | p50 | p90 | p99 | ÷ /healthz req/s | ÷ metadata req/s | status ≥ 400 | socket errors |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONNECTIONS; do
	base=$(field "${res[healthz,$c]}" rps)
	base2=$(field "${res[metadata,$c]}" rps)
	for r in $routes; do
		line=${res[$r,$c]}
		rps=$(field "$line" rps)
		st=$(field "$line" status_errors)
		so=$(field "$line" socket_errors)
		total_status=$((total_status + st))
		total_socket=$((total_socket + so))
		awk -v c="$c" -v r="$r" -v p="${path[$r]}" -v rps="$rps" -v base="$base" -v base2="$base2" -v st="$st" -v so="$so" \
			-v p50="$(field "$line" p50_us)" -v p90="$(field "$line" p90_us)" -v p99="$(field "$line" p99_us)" '
			function ms(us) { return sprintf("%.2f ms", us / 1000) }
			BEGIN {
				name = (r == "healthz") ? "/healthz" : (r == "metadata") ? "metadata (no auth)" : (r == "apikey" ? "/v1/data, API key" : "/v1/data, access token")
				printf "| %d | %s | %.0f | %s | %s | %s | %.2f× | %.2f× | %d | %d |\n", c, name, rps, ms(p50), ms(p90), ms(p99), rps / base, rps / base2, st, so
			}'
	done
done
echo
echo "| server | value |"
echo "|---|---|"
echo "| RSS idle (first instance) | $((idle_rss / 1024)) MiB |"
echo "| RSS at start | $((cold_rss / 1024)) MiB |"
echo "| RSS after warm-up | $((warm_rss / 1024)) MiB |"
for c in $CONNECTIONS; do
	echo "| RSS after the $c-connection runs | $((rss_after[$c] / 1024)) MiB |"
done
echo "| RSS at the end | $((final_rss / 1024)) MiB |"
echo "| OS threads idle → after the load | $idle_threads → $after_threads |"
echo "| goroutines idle → after the load (SIGQUIT dump) | $idle_goroutines → $after_goroutines |"
echo "| responses with status ≥ 400, all runs | $total_status |"
echo "| socket errors, all runs | $total_socket |"

[ "$total_status" -eq 0 ] && [ "$total_socket" -eq 0 ] || fail "errors under load"
