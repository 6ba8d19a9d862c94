# Shared code of the benchmark scripts (sourced by tools/bench and its row scripts
# tools/bench-hello, tools/bench-proxy, tools/bench-aspnetcore and tools/bench-every-core):
# settings, installing what is missing, the release build, starting pinned servers and stopping
# them on exit, free ports, CPU accounting, and one measured wrk row. Loopback only. Results go to
# $BENCH_RESULTS (one JSON object per line) when it is set; a human line per row always goes to
# stdout.

# --- settings (tools/bench exports them; a row script run alone gets these defaults) ---
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-50}
SERVER_CORE=${BENCH_SERVER_CORE:-0}
CLIENT_CORE=${BENCH_CLIENT_CORE:-1}
BUILD=${BENCH_BUILD_DIR:-build/release}
BENCH_ME=${BENCH_ME:-tools/$(basename "$0")}
WRK_THREADS=1  # wrk threads of a row; tools/bench-every-core uses one per core

# cpu_count LIST: how many CPUs a taskset-style list names ("0,1" -> 2, "0-7" -> 8,
# "0-3,8-11" -> 8); fails on anything else.
cpu_count() {
  local n=0 part lo hi
  [ -n "$1" ] || return 1
  for part in ${1//,/ }; do
    if [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then
      lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]}
      [ "$lo" -le "$hi" ] || return 1
      n=$((n + hi - lo + 1))
    elif [[ $part =~ ^[0-9]+$ ]]; then
      n=$((n + 1))
    else
      return 1
    fi
  done
  echo "$n"
}

bench_need() {  # bench_need COMMAND PACKAGE: apt-get install PACKAGE when COMMAND is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -x "/usr/sbin/$1" ] && return 0
  echo "$BENCH_ME: installing $2" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" \
    >/dev/null
}

# bench_prepare: the tools and the release build every row needs; sets NGINX, HAPROXY, SITEHOST,
# APP (sitehost-app), HELLO (hello.so). Quick when everything is there.
bench_prepare() {
  bench_need wrk wrk
  bench_need nginx nginx-light
  bench_need haproxy haproxy
  bench_need taskset util-linux
  bench_need openssl openssl
  bench_need curl curl
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
  # Always brought up to date (a no-op when nothing changed): a stale build would measure old code.
  echo "$BENCH_ME: building the release binaries in $BUILD" >&2
  if [ ! -e "$BUILD/CMakeCache.txt" ]; then
    if [ "$(realpath -m "$BUILD")" = "$(realpath -m build/release)" ]; then
      cmake --preset release >/dev/null
    else  # the release preset's settings, in another folder
      cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
  fi
  cmake --build "$BUILD" -j2 --target sitehost sitehost-app sitehost-launch hello info >/dev/null
  SITEHOST=$(realpath "$BUILD/shared/frontend/sitehost")
  APP=$(realpath "$BUILD/shared/frontend/sitehost-app")
  HELLO=$(realpath "$BUILD/tests/apps/hello.so")
}

# --- processes: everything started here is stopped on exit, by PID ---
bench_pids=()
work=$(mktemp -d "/tmp/sitehost-$(basename "$0")-XXXXXX")
bench_cleanup() {
  local p
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${bench_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap bench_cleanup EXIT
# A signal exits through the EXIT trap too (a closed output pipe included), so nothing is left.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# start_pinned LOG COMMAND...: starts COMMAND on the server core; its PID is in $started_pid.
start_pinned() {
  local log=$1
  shift
  taskset -c "$SERVER_CORE" "$@" >"$log" 2>&1 &
  started_pid=$!
  bench_pids+=("$started_pid")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
free_ports() {  # free_ports N: N distinct free ports, one a line, from one python3 (a slow start
  # on a loaded machine: a second or more each)
  python3 -S -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

wait_port() {  # wait_port PORT PID [SECONDS]: up to SECONDS (10)
  for _ in $(seq 1 $((${3:-10} * 20))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

descendants() {  # descendants PID: the PIDs of its children, grandchildren...
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

alive() {  # alive PID: it runs (a zombie, exited but not yet reaped, does not)
  local state
  state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

cpu_ticks() {  # cpu_ticks PID...: utime + stime summed, in clock ticks (fields 14 and 15)
  local p sum=0 t
  for p in "$@"; do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    sum=$((sum + t))
  done
  echo "$sum"
}

# An nginx config's common head: one process (no master), files under DIR, no access log. With
# WORKERS > 1: a master and WORKERS workers (nginx ignores worker_processes without a master).
nginx_conf_head() {  # nginx_conf_head DIR [WORKER_CONNECTIONS [WORKERS]]
  local procs="master_process off; worker_processes 1;"
  [ "${3:-1}" -gt 1 ] && procs="master_process on; worker_processes $3;"
  cat <<EOT
daemon off; $procs
pid $1/nginx.pid; error_log $1/error.log warn;
worker_rlimit_nofile $((${2:-1024} + 100));
events { worker_connections ${2:-1024}; }
EOT
}
nginx_http_head() {  # nginx_http_head DIR: the first lines inside http { }
  cat <<EOT
  access_log off; keepalive_requests 100000000;
  client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1;
  uwsgi_temp_path $1; scgi_temp_path $1;
EOT
}

# bench_certificate: the TLS rows' self-signed ECDSA P-256 certificate for 127.0.0.1, made once,
# as $work/bench.pem and $work/bench.key; sets CIPHERS, sitehost's TLS 1.2 list (docs/tls.md),
# which nginx_tls gives nginx. TLS 1.3 suites are OpenSSL's defaults on both servers.
bench_certificate() {
  [ -e "$work/bench.pem" ] ||
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj /CN=bench.test -addext subjectAltName=DNS:bench.test,IP:127.0.0.1 \
      -keyout "$work/bench.key" -out "$work/bench.pem" 2>/dev/null
  CIPHERS="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
  CIPHERS="$CIPHERS:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
}
# nginx_tls: an nginx server's TLS lines, sitehost's settings: that certificate, TLS 1.2 + 1.3, the
# same cipher list with server preference, session tickets, no session cache.
nginx_tls() {
  cat <<EOT
    ssl_certificate $work/bench.pem;
    ssl_certificate_key $work/bench.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers $CIPHERS;
    ssl_prefer_server_ciphers on;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    ssl_session_tickets on;
    ssl_session_cache off;
EOT
}

# --- results ---
json_escape() {  # json_escape TEXT: for a JSON string; control characters become spaces
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '%s' "$s" | tr '\000-\037' ' '
}

# row_error ID MESSAGE: records that a row could not run. A row script may define
# bench_error_hint ID, which may set bench_hint (e.g. to the log tail of a server that exited):
# it is appended to the message.
bench_hint=""
row_error() {
  local msg=$2
  bench_hint=""
  if declare -F bench_error_hint >/dev/null; then bench_error_hint "$1" || true; fi
  [ -n "$bench_hint" ] && msg="$msg; $bench_hint"
  echo "$BENCH_ME: $1: $msg" >&2
  [ -n "${BENCH_RESULTS:-}" ] &&
    printf '{"id":"%s","error":"%s"}\n' "$1" "$(json_escape "$msg")" >>"$BENCH_RESULTS"
  bench_failed=1
  return 0
}
bench_failed=0

# row_skip ID REASON: records that a row was skipped on purpose (a tool it needs is not on this
# machine): the report shows the row as skipped, and it is not an error. Prints nothing: the row
# script says why, once for its group.
row_skip() {
  [ -n "${BENCH_RESULTS:-}" ] &&
    printf '{"id":"%s","error":"%s","skipped":true}\n' "$1" "$(json_escape "$2")" >>"$BENCH_RESULTS"
  return 0
}

latency_us() {  # latency_us VALUE: wrk's "812.00us", "1.20ms", "2.01s" in microseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : -1
    if (f < 0) print ""; else printf "%.1f", n * f
  }'
}

# bench_load ID PIDS FRONT TOOL COMMAND...: runs COMMAND (the measured load, TOOL names it in
# errors) with the CPU of the server processes PIDS (and of FRONT, the front ones among them) read
# just before and just after; sets bench_out (its output), bench_ticks and bench_front_ticks. On
# failure (COMMAND failed, or a server process exited during the run) records the error and
# returns 1.
bench_load() {
  local id=$1 pids=$2 front=$3 tool=$4
  shift 4
  local before_all before_front
  # shellcheck disable=SC2086
  before_all=$(cpu_ticks $pids)
  # shellcheck disable=SC2086
  before_front=$(cpu_ticks $front)
  if ! bench_out=$("$@" 2>&1); then
    # The first line that says something (h2load starts with its progress lines).
    row_error "$id" "$tool failed: $(grep -m1 -v -e '^starting benchmark' \
      -e '^spawning thread' -e '^progress: ' <<<"$bench_out" || true)"
    return 1
  fi
  # A server process that exited during the run (a crash) makes the row meaningless: the client
  # may still have counted requests, and the CPU of a vanished process reads as 0.
  local p
  for p in $pids; do
    if ! alive "$p"; then
      row_error "$id" "server process $p exited during the run"
      return 1
    fi
  done
  # shellcheck disable=SC2086
  bench_ticks=$(($(cpu_ticks $pids) - before_all))
  # shellcheck disable=SC2086
  bench_front_ticks=$(($(cpu_ticks $front) - before_front))
}

per_request_us() {  # per_request_us TICKS REQUESTS: CPU clock ticks as µs per request
  awk -v d="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN { printf "%.2f", d / hz * 1e6 / n }'
}

# bench_record ID RPS REQUESTS P50 P99 SOCKERR PIDS FRONT [JSON]: the human line and the JSON
# result of a measured row (bench_ticks and bench_front_ticks from bench_load; P50 and P99 in µs,
# or "null" when the client does not measure them; JSON: more ',"key":value' members).
bench_record() {
  local id=$1 rps=$2 requests=$3 p50=$4 p99=$5 sockerr=$6 pids=$7 front=$8 more=${9:-}
  local us us_front
  us=$(per_request_us "$bench_ticks" "$requests")
  us_front=$(per_request_us "$bench_front_ticks" "$requests")
  printf '%-14s %12s requests/s  p50 %9s µs  p99 %9s µs  CPU %8s µs/request (front %s)%s\n' \
    "$id" "$rps" "${p50/null/—}" "${p99/null/—}" "$us" "$us_front" \
    "${sockerr:+, socket errors $sockerr}"
  [ -n "${BENCH_RESULTS:-}" ] && printf '{"id":"%s","rps":%s,"p50_us":%s,"p99_us":%s,"cpu_us_per_request":%s,"front_cpu_us_per_request":%s,"requests":%s,"socket_errors":%s,"seconds":%s,"connections":%s,"processes":%s,"front_processes":%s,"wrk_threads":%s%s}\n' \
    "$id" "$rps" "$p50" "$p99" "$us" "$us_front" "$requests" "${sockerr:-0}" \
    "$SECONDS_PER_RUN" "$CONNECTIONS" "$(wc -w <<<"$pids")" "$(wc -w <<<"$front")" \
    "$WRK_THREADS" "$more" >>"$BENCH_RESULTS"
  return 0
}

# bench ID URL PIDS [wrk args...]: warm-up, then a measured wrk run (WRK_THREADS threads) on the
# client core(s). PIDS (quoted, space-separated) are the server-side processes whose CPU is
# counted; the front (proxy) processes, whose share is reported apart, are the first one, or all
# those before a "|" when there is one ("MASTER WORKER1 WORKER2 | CHILD1 CHILD2"). Prints a human
# line, appends a JSON result; on failure records the error and returns 1.
bench() {
  local id=$1 url=$2 pids=${3//|/ } front=${3%% *}
  [[ $3 == *"|"* ]] && front=${3%%|*}
  shift 3
  if ! taskset -c "$CLIENT_CORE" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP_SECONDS}s" \
    "$@" "$url" >"$work/$id.warmup" 2>&1; then
    row_error "$id" "wrk warm-up failed: $(head -1 "$work/$id.warmup")"
    return 1
  fi
  bench_load "$id" "$pids" "$front" wrk taskset -c "$CLIENT_CORE" wrk -t"$WRK_THREADS" \
    -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" || return 1
  local out=$bench_out
  echo "$out" >"$work/$id.wrk"
  local rps requests p50 p99 non2xx sockerr
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  p50=$(latency_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(latency_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
  sockerr=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' <<<"$out")
  if [ -n "$non2xx" ]; then
    row_error "$id" "$non2xx non-2xx responses"
    return 1
  fi
  if [ -z "$requests" ] || [ "$requests" -eq 0 ] || [ -z "$p50" ] || [ -z "$p99" ]; then
    row_error "$id" "no requests completed: $(tail -1 <<<"$out")"
    return 1
  fi
  bench_record "$id" "$rps" "$requests" "$p50" "$p99" "$sockerr" "$pids" "$front"
}

# bench_if OK WHY ID URL PIDS [wrk args...]: bench when OK is 1, else record WHY as ID's error.
bench_if() {
  local ok=$1 why=$2
  shift 2
  if [ "$ok" = 1 ]; then bench "$@" || true; else row_error "$1" "$why"; fi
}
