# Sourced by package_test.sh: installs the package (installed mode) or unpacks it (unpacked
# mode), then runs what it installed. Uses mode, deb, work, check, has.

port_free() {
  python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' \
    "$1" 2>/dev/null
}
# A free port below the ephemeral range (a bind(0) port could be taken by some client's
# connection before sitehost binds it).
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 12000))
    if port_free "$port"; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

pid=""
# stop_server: SIGTERM, then at most 45 s (the unit's TimeoutStopSec) before SIGKILL; sets
# stop_status to sitehost's exit status.
stop_server() {
  stop_status=""
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  local i
  for i in $(seq 450); do  # until it has exited (a zombie, ours to reap) or 45 s passed
    case "$(ps -o stat= -p "$pid")" in Z* | "") break ;; esac
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid"
  stop_status=$?
  pid=""
}

if [ "$mode" = installed ]; then
  root=""
  sites=/var/lib/sitehost/package-test
  purge() {
    rm -rf "$sites"
    dpkg --purge sitehost
  }
  cleanup() {
    stop_server
    if dpkg-query -W sitehost >/dev/null 2>&1; then purge >"$work/purge.log" 2>&1; fi
    [ -n "${sitehost_uid:-}" ] && rm -rf "/tmp/sitehost-$sitehost_uid"
    rm -rf "$work"
  }
  trap cleanup EXIT
  check "dpkg -i installs the package" dpkg -i "$deb"
  if ! dpkg-query -W -f='${Status}' sitehost 2>/dev/null | grep -q "install ok installed"; then
    echo "FAIL: the package is not installed: the run checks cannot go on"
    failed=$((failed + 1))
    return 0
  fi
  if [ -d /run/systemd/system ]; then
    # postinst started the service: this test runs the binary itself, as the unit would.
    systemctl stop sitehost.service sitehost.socket
    echo "package test: systemd runs here: stopped the service postinst started"
  fi
  check "system user sitehost (home /var/lib/sitehost, no login shell)" \
    bash -c 'getent passwd sitehost | grep -q ":/var/lib/sitehost:/usr/sbin/nologin$"'
  check "group sitehost" getent group sitehost
  sitehost_uid=$(id -u sitehost)
  # What the unit's RuntimeDirectory=, StateDirectory= and LogsDirectory= create.
  install -d -o sitehost -g sitehost -m 0755 /run/sitehost /var/lib/sitehost /var/log/sitehost
  as_user=(setpriv --reuid=sitehost --regid=sitehost --init-groups)
  clean_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/sitehost LANG=C.UTF-8)
  config=/etc/sitehost/sitehost.toml
  pc_env=()
  man_path=()
  run_dir=/run/sitehost
else
  root="$work/root"
  sites="$work/sites"
  run_dir="$work/run"
  trap 'stop_server; rm -rf "$work"' EXIT
  dpkg-deb -x "$deb" "$root"
  mkdir -m 0700 "$work/xdg" "$run_dir"
  as_user=()
  clean_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work" XDG_RUNTIME_DIR="$work/xdg"
    LANG=C.UTF-8)
  # The installed config with its paths moved into the scratch root.
  config="$work/sitehost.toml"
  sed -e "s#\"/usr/#\"$root/usr/#g" -e "s#\"/run/sitehost/#\"$run_dir/#g" \
    "$root/etc/sitehost/sitehost.toml" >"$config"
  pc_env=(PKG_CONFIG_PATH="$root/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
    PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1)
  man_path=(-M "$root/usr/share/man")
fi
bin="$root/usr/bin/sitehost"
run_as() { "${as_user[@]}" "${clean_env[@]}" "$@"; }

# The demo sites' ports, 8080 and 8081, and the health port 8079 may be taken on a developer's
# machine.
port0=8079
port1=8080
port2=8081
if ! port_free $port0 || ! port_free $port1 || ! port_free $port2; then
  port0=$(free_port)
  port1=$(free_port)
  port2=$(free_port)
  while [ "$port1" = "$port0" ]; do port1=$(free_port); done
  while [ "$port2" = "$port1" ] || [ "$port2" = "$port0" ]; do port2=$(free_port); done
  sed -e "s#127.0.0.1:8080\"#127.0.0.1:$port1\"#" -e "s#127.0.0.1:8081\"#127.0.0.1:$port2\"#" \
    -e "s#127.0.0.1:8079\"#127.0.0.1:$port0\"#" "$config" >"$work/ports.toml"
  config="$work/ports.toml"
  chmod 0644 "$config"
  echo "package test: 8079, 8080 or 8081 is taken here: health and the demo sites run on" \
    "$port0, $port1 and $port2 (a copy of the config)"
fi

check "sitehost --check accepts the installed config" run_as "$bin" --check -c "$config"

# A simple command, not run_as: $! must be sitehost's pid (setpriv and env exec it).
"${as_user[@]}" "${clean_env[@]}" "$bin" -c "$config" >"$work/sitehost.log" 2>&1 &
pid=$!
# get PORT: the body of http://127.0.0.1:PORT/ into $body, waiting up to 20 s for the server.
get() {
  local i
  for i in $(seq 200); do
    if body=$(curl -fsS -m 10 "http://127.0.0.1:$1/" 2>"$out"); then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "no answer on port $1: $(cat "$out")"
  echo "server log:"
  cat "$work/sitehost.log"
  return 1
}
check "in-process demo (hello.so) answers on $port1" get $port1
check "... with Hello, World!" has "${body:-}" "^Hello, World!$"
check "out-of-process demo (sitehost-app + info.so) answers on $port2" get $port2
check "... with info.so's JSON, proxied by sitehost (pairing token)" has "${body:-}" \
  '\["MS-ASPNETCORE-TOKEN","[0-9a-f]*"\]'
check "the health endpoint answers on $port0" get $port0
check "... ready" has "${body:-}" "^ready$"
if [ "$mode" = installed ]; then
  check "sitehost runs as the sitehost user" has "$(ps -o user= -p "$pid")" "^sitehost$"
fi
check "the out-of-process child was started through sitehost-launch (libexec)" \
  bash -c "! grep 'sitehost-launch not found' '$work/sitehost.log'"

check "sitehost ctl status through $run_dir/sitehost.sock" \
  bash -c "'$bin' ctl -c '$config' status | grep -q '\"hello-inprocess\"'"

# A handler built against the installed header, served after a reload (ExecReload's command,
# as the service's user).
mkdir -p "$sites"
cat >"$work/app.c" <<'EOF'
#include <sitehost/handler.h>
SITEHOST_HANDLER_DEFINE_ABI_VERSION()
static const char body[] = "built against the installed header";
int sitehost_handler_init(const sitehost_site_info_t* info, void** app, char* error,
                          size_t error_size) {
  (void)info; (void)error; (void)error_size;
  *app = NULL;
  return 0;
}
void sitehost_handler_request(void* app, sitehost_request_t* req) {
  (void)app;
  sitehost_response_add_header(req, "Content-Type", "text/plain");
  sitehost_response_write(req, body, sizeof body - 1, 0, NULL, NULL);
  sitehost_response_finish(req);
}
void sitehost_handler_shutdown(void* app) { (void)app; }
EOF
cflags=$(env "${pc_env[@]}" pkg-config --cflags sitehost-handler 2>"$out")
check "pkg-config knows sitehost-handler" env "${pc_env[@]}" pkg-config --exists sitehost-handler
# shellcheck disable=SC2086 # cflags is a list of flags
check "cc -shared -fPIC \$(pkg-config --cflags sitehost-handler) builds a handler" \
  cc -shared -fPIC -O2 -Wall -Werror $cflags -o "$sites/app.so" "$work/app.c"
port3=$(free_port)
cp "$config" "$work/config.before"
cat >>"$config" <<EOF

[[site]]
name = "package-test"
bindings = ["http://127.0.0.1:$port3"]
physical_path = "$sites"
hosting_model = "inprocess"
handler = "app.so"
EOF
check "sitehost ctl reload (as ExecReload: the service's user) applies a new site" \
  bash -c "$(printf '%q ' "${as_user[@]}" "${clean_env[@]}") '$bin' ctl -c '$config' reload \
    | grep -q 'config reloaded'"
check "the handler built against the installed header answers" get $port3
check "... with its body" has "${body:-}" "^built against the installed header$"
echo 'no_such_key = 1' >>"$config"
check "ctl reload of an invalid config exits 1 with file:line (systemctl reload fails)" \
  bash -c "out=\$('$bin' ctl -c '$config' reload 2>&1); rc=\$?; echo \"\$out\";
    [ \$rc -eq 1 ] && grep -q '$config:[0-9]*: .*no_such_key' <<<\"\$out\""
cp "$work/config.before" "$config"

stop_server
check "SIGTERM stops sitehost with exit 0 within 45 s (TimeoutStopSec)" test "$stop_status" = 0
check "a clean stop removes the admin socket" test ! -e "$run_dir/sitehost.sock"

# Man pages and units.
for page in "8 sitehost" "8 sitehost-app" "5 sitehost.toml"; do
  # shellcheck disable=SC2086 # section and name
  check "man -w finds $page" man "${man_path[@]}" -w $page
done
for page in man8/sitehost.8.gz man5/sitehost.toml.5.gz; do
  check "man -l renders $page" \
    bash -c "MANWIDTH=80 man -l '$root/usr/share/man/$page' 2>&1 | grep -q '^NAME'"
done
units="$root/usr/lib/systemd/system"
if [ "$mode" = unpacked ]; then
  # systemd-analyze checks that ExecStart='s programs exist: point the units at the scratch
  # root's (its --root= would also need the system's own units there).
  mkdir "$work/units"
  for u in sitehost.service sitehost.socket; do
    sed "s#=/usr/bin/#=$root/usr/bin/#g" "$units/$u" >"$work/units/$u"
  done
  units="$work/units"
fi
analyze_env=()
[ "$mode" = unpacked ] && analyze_env=(MANPATH="$root/usr/share/man")  # for Documentation=
check "systemd-analyze verify: both units, nothing to say" \
  bash -c "out=\$($(printf '%q ' env "${analyze_env[@]}") systemd-analyze verify \
    '$units/sitehost.service' '$units/sitehost.socket' 2>&1); rc=\$?; echo \"\$out\";
    [ \$rc -eq 0 ] && [ -z \"\$out\" ]"

if [ "$mode" = installed ]; then
  check "dpkg --purge removes the package" purge
  check "... the sitehost user" bash -c '! getent passwd sitehost'
  check "... the sitehost group" bash -c '! getent group sitehost'
  check "... /etc/sitehost, /var/lib/sitehost, /var/log/sitehost" \
    bash -c '! ls -d /etc/sitehost /var/lib/sitehost /var/log/sitehost 2>/dev/null'
fi
