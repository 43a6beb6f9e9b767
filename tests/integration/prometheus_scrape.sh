#!/usr/bin/env bash
# A real Prometheus scrapes examples/metrics_server, and its HTTP API sees what
# a dashboard would: cachet_hits_total, a p99 from
# cachet_operation_duration_seconds_bucket, and cachet_breaker_state turning
# 1 after Redis is stopped. Loopback only, bounded in time (every wait has a
# deadline), and everything it starts is stopped on exit.
#
#   tests/integration/prometheus_scrape.sh <path to metrics_server>
set -euo pipefail
server_bin=${1:?usage: prometheus_scrape.sh <metrics_server binary>}
for tool in prometheus redis-server redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "prometheus_scrape: '$tool' not found (scripts/install-deps.sh --tests installs it)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/cachet-prom-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "prometheus_scrape: FAIL: $*" >&2
  for log in "$tmp"/*.log; do echo "--- $log (tail)" >&2; tail -n 20 "$log" >&2; done
  exit 1
}

# A loopback port nothing listens on right now.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  fail "no free loopback port found"
}

# wait_for <seconds> <command...>: retries the command every 0.5 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# Redis on a unix socket in the temporary directory (no TCP port at all).
redis-server --port 0 --unixsocket "$tmp/redis.sock" --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_for 10 redis-cli -s "$tmp/redis.sock" ping >/dev/null 2>&1 || fail "redis-server did not start"

"$server_bin" --port 0 --redis "unix://$tmp/redis.sock" >"$tmp/server.log" 2>&1 &
pids+=($!)
server_port() { sed -n 's/^listening on 127.0.0.1:\([0-9][0-9]*\)$/\1/p' "$tmp/server.log" 2>/dev/null; }
server_up() { [ -n "$(server_port)" ]; }
wait_for 10 server_up || fail "metrics_server did not start"
target="127.0.0.1:$(server_port)"
# (Into a file, not a pipe: with pipefail, grep -q closing the pipe early would fail curl.)
scraped() { curl -sf "http://$target/metrics" -o "$tmp/scrape.txt" && grep -q '^cachet_hits_total{cache="memory"' "$tmp/scrape.txt"; }
wait_for 10 scraped || fail "/metrics has no cachet_hits_total"

prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: cachet
    static_configs:
      - targets: ['$target']
YAML
# The port was free when chosen, but another test may take it before Prometheus
# binds it: then Prometheus exits at once, and it is started on another port.
started=""
for attempt in 1 2 3 4 5; do
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
  prom_pid=$!
  pids+=("$prom_pid")
  api="http://127.0.0.1:$prom_port"
  ready() { curl -sf "$api/-/ready" -o /dev/null || ! kill -0 "$prom_pid" 2>/dev/null; }
  wait_for 30 ready || fail "Prometheus did not become ready"
  if kill -0 "$prom_pid" 2>/dev/null; then started=yes; break; fi
  echo "prometheus_scrape: Prometheus could not bind 127.0.0.1:$prom_port (attempt $attempt); another port" >&2
  prom_port=$(free_port)
done
[ -n "$started" ] || fail "Prometheus did not start on any of 5 ports"

# query <PromQL>: the API's JSON answer.
query() { curl -sf --get "$api/api/v1/query" --data-urlencode "query=$1"; }
# has_value <PromQL> <regex>: the first result's value matches the regex.
has_value() { query "$1" >"$tmp/answer.json" && grep -Eq "\"value\":\[[0-9.]+,\"$2\"\]" "$tmp/answer.json"; }

wait_for 30 has_value 'cachet_hits_total{cache="memory"}' '[1-9][0-9]*' \
  || fail "cachet_hits_total never reached Prometheus: $(query 'cachet_hits_total')"
p99='histogram_quantile(0.99, sum by (le) (rate(cachet_operation_duration_seconds_bucket{cache="redis",op="get"}[5s])))'
wait_for 30 has_value "$p99" '[0-9.e+-]+' || fail "no p99 from the histogram: $(query "$p99")"
echo "prometheus_scrape: p99 of redis get: $(query "$p99" | grep -o '"value":\[[^]]*\]')"
has_value 'cachet_breaker_state{cache="redis"}' '0' || fail "the breaker was not closed while Redis ran"

redis-cli -s "$tmp/redis.sock" shutdown nosave >/dev/null 2>&1 || true
wait_for 30 has_value 'cachet_breaker_state{cache="redis"}' '1' \
  || fail "cachet_breaker_state did not become 1 after Redis stopped: $(query 'cachet_breaker_state')"
echo "prometheus_scrape: OK (hits, p99 and the open breaker seen through Prometheus)"
