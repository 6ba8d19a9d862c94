# Shared helpers of the benchmark scripts (sourced): free ports, waiting, CPU accounting, one wrk
# row. Expects CLIENT_CORE, CONNECTIONS, WARMUP_SECONDS, SECONDS_PER_RUN and $work.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # wait_port PORT PID: up to 10 s
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

cpu_ticks() {  # utime + stime of PID, in clock ticks (fields 14 and 15 after the comm field)
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# bench NAME PID URL [wrk args...]: prints "NAME rps p99 us_per_request requests"
bench() {
  local name=$1 pid=$2 url=$3
  shift 3
  taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP_SECONDS}s" "$@" "$url" >/dev/null
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url")
  after=$(cpu_ticks "$pid")
  echo "$out" > "$work/$name.wrk"
  local rps requests p99 errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
  if [ -n "$errors" ]; then
    echo "tools/bench: $name answered $errors non-2xx responses" >&2
    exit 1
  fi
  local hz us
  hz=$(getconf CLK_TCK)
  us=$(awk -v d=$((after - before)) -v hz="$hz" -v n="$requests" \
    'BEGIN { printf "%.2f", (n > 0 ? d / hz * 1e6 / n : 0) }')
  echo "$name $rps $p99 $us $requests"
}
