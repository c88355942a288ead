#!/usr/bin/env bash
# Online links benchmark (issue 5): a study behind a link, downloaded over
# HTTPS from sealportd (the ZIP produced while it is sent, every file
# decrypted from its AES-256-GCM blob chunk by chunk) and, as the anchor, the
# very same bytes served as a static file by nginx over TLS with the same
# certificate and cipher settings. Measures (a) one download at a time, MB/s;
# (b) 16 downloads at once, aggregate MB/s and sealportd's peak RSS; (c) the
# landing page, requests/s with wrk, against nginx serving that page's bytes
# as a static file. Medians of --runs rounds, peers interleaved within each
# round. See bench/links/README.md and docs/performance.md. Run by hand; not a
# test (--smoke is: a tiny study, every step once, no figures judged).
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
build="$top/build-bench"
work="$top/var/bench-links"
runs=5
series="CT:250:512x512"
seed=1
peers="sealportd nginx"
clients=16        # downloads at once in (b)
wrk_threads=2
wrk_connections=16
wrk_seconds=10
pin="split"       # split: servers on CPU 0, clients on CPU 1; none: no pinning
quiet_pct=25      # wait until the machine is at most this busy before each run
quiet_wait=900    # ... for at most this many seconds (0: do not wait)
other_max=10      # a run during which other work used more of the CPUs is flagged
rss_goal_mib=200  # issue 5: sealportd below this with $clients downloads at once
ratio_goal=0.8    # issue 5: at least this fraction of nginx's throughput
profile=0
smoke=0

usage() {
  cat <<EOF
usage: bench/links/run.sh --build DIR [options]

  --build DIR        sealport build with bin/sealportd, bin/sealportctl and
                     bin/sealport-gen-study (default: build-bench/); nothing is
                     built: build it first (RelWithDebInfo, see README.md)
  --work DIR         study, state, nginx's copy of the ZIP and results
                     (default: var/bench-links/)
  --runs N           rounds of each measurement; the median is reported
                     (default: $runs)
  --series SPEC      the study, as sealport-gen-study --series (default:
                     $series, about 131 MB)
  --peers LIST       space- or comma-separated, in this order each round
                     (default: "$peers"); also sealportd-tmpfs (diagnostic:
                     sealportd with its state in /dev/shm)
  --clients N        downloads at once in the concurrent measurement (default: $clients)
  --wrk "T C S"      landing page: wrk threads, connections, seconds
                     (default: "$wrk_threads $wrk_connections $wrk_seconds")
  --pin MODE         split (default): every server on CPU 0, curl and wrk on
                     CPU 1 (taskset); none: no pinning, all share all CPUs
  --quiet-pct P      before each run, wait until the CPUs are at most P% busy
                     over 3 s (default: $quiet_pct)
  --quiet-wait S     wait at most S seconds for that (default: $quiet_wait; 0: never wait)
  --other-max P      flag a run during which other work used more than P% of
                     the CPUs (default: $other_max)
  --profile          instead of the rounds: record each peer with perf (call
                     graphs) during 3 downloads, then 5 s of wrk on the landing
                     page, and attribute the samples (WORK/perf-PEER-LOAD.txt)
  --smoke            a check that every step works, for CI: a 4-image study,
                     one round of everything, 4 downloads at once, 1 s of wrk,
                     no idle wait, no goals judged; exits 77 when nginx or wrk
                     is missing (the test is then skipped)

Results: WORK/results.tsv (every run) and WORK/results.md (the medians), also
printed.
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --series) series="$2"; shift 2 ;;
    --peers) peers="${2//,/ }"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --wrk) read -r wrk_threads wrk_connections wrk_seconds <<<"$2"; shift 2 ;;
    --pin) pin="$2"; shift 2 ;;
    --quiet-pct) quiet_pct="$2"; shift 2 ;;
    --quiet-wait) quiet_wait="$2"; shift 2 ;;
    --other-max) other_max="$2"; shift 2 ;;
    --profile) profile=1; shift ;;
    --smoke) smoke=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
done
if [ "$smoke" -eq 1 ]; then
  series="CT:4:64x64"; runs=1; clients=4; wrk_threads=1; wrk_connections=4; wrk_seconds=1
  quiet_wait=0; profile=0
fi
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
case "$work" in /*) ;; *) work="$PWD/$work" ;; esac

log() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }
skip() { echo "bench: $* (skipped)" >&2; exit 77; }

for v in runs clients wrk_threads wrk_connections wrk_seconds; do
  case "${!v}" in ''|*[!0-9]*|0*) die "--${v//_/-} wants a positive integer, not '${!v}'" ;; esac
done
case "$pin" in split|none) ;; *) die "--pin is split or none, not '$pin'" ;; esac
for p in $peers; do
  case "$p" in sealportd|sealportd-tmpfs|nginx) ;; *) die "unknown peer '$p' (sealportd nginx sealportd-tmpfs)" ;; esac
done
case " $peers " in *" sealportd "*) ;; *) die "--peers must include sealportd (the ratios are against it)" ;; esac
case " $peers " in *" nginx "*) ;; *) die "--peers must include nginx (the anchor)" ;; esac
# A link allows at most [policy] max_downloads_max downloads, at most 1000
# (daemon/core/config.cpp); new links are made as they run out.
[ "$clients" -le 128 ] || die "--clients $clients: sealportd serves at most 128 connections at once"

umask 077
export TCP_NODELAY=1

# --- tools ---------------------------------------------------------------

sealportd="$build/bin/sealportd"
sealportctl="$build/bin/sealportctl"
gen="$build/bin/sealport-gen-study"
for b in "$sealportd" "$sealportctl" "$gen"; do
  [ -x "$b" ] || die "$b missing: build sealportd, sealportctl and sealport_gen_study in $build first (README.md)"
done
src_dir="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)"
src_rev="$(git -C "${src_dir:-/nonexistent}" describe --always --dirty --abbrev=7 2>/dev/null || echo "not a git checkout")"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)"
case "$build_type" in
  RelWithDebInfo|Release) ;;
  *) [ "$smoke" -eq 1 ] || log "warning: $build is a '${build_type:-unknown}' build; the figures are for RelWithDebInfo" ;;
esac

need() {  # command package
  command -v "$1" >/dev/null && return 0
  [ "$smoke" -eq 0 ] || skip "$1 not found (Debian package $2; scripts/install-deps installs it)"
  die "$1 not found (Debian package $2; scripts/install-deps installs it)"
}
need nginx nginx-light
need wrk wrk
for c in curl openssl unzip storescu taskset ss; do
  case "$c" in storescu) pkg=dcmtk ;; taskset) pkg=util-linux ;; ss) pkg=iproute2 ;; *) pkg=$c ;; esac
  command -v "$c" >/dev/null || die "$c not found (Debian package $pkg)"
done
nginx_bin="$(command -v nginx)"

ncpu=$(nproc)
if [ "$pin" = split ] && [ "$ncpu" -lt 2 ]; then
  log "warning: $ncpu CPU: --pin split needs two; not pinning"
  pin=none
fi
# Prefixes of the servers' and the clients' command lines. Servers are
# started as simple commands (taskset and setpriv exec), so that $! is the
# server itself, not a subshell.
as_server=()
as_client=()
if [ "$pin" = split ]; then
  server_cpus=0; client_cpus=1
  as_server=(taskset -c "$server_cpus")
  as_client=(taskset -c "$client_cpus")
fi

# --- helpers (the idle wait and CPU accounting as in bench/ingest/run.sh) --

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    ss -ltnH "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}

# Percentage of CPU time not idle over three seconds, all CPUs.
cpu_busy() {
  local a b
  read -ra a < /proc/stat; sleep 3; read -ra b < /proc/stat
  local total=0 idle i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  idle=$(( (b[4] - a[4]) + (b[5] - a[5]) ))
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# Waits (up to quiet_wait seconds) until the machine is idle; sets `busy`.
wait_quiet() {
  busy=-1
  [ "$quiet_wait" -gt 0 ] || return 0
  local start
  start=$(date +%s)
  busy=$(cpu_busy)
  while [ "$busy" -gt "$quiet_pct" ] && [ $(( $(date +%s) - start )) -lt "$quiet_wait" ]; do
    sleep 2
    busy=$(cpu_busy)
  done
  [ "$busy" -le "$quiet_pct" ] ||
    log "warning: the machine is still $busy% busy after ${quiet_wait}s of waiting; running anyway (recorded)"
}

machine_ms() {  # busy|steal
  awk -v hz="$(getconf CLK_TCK)" -v what="$1" 'NR == 1 {
    if (what == "busy") printf "%d", ($2 + $3 + $4 + $7 + $8) * 1000 / hz
    else printf "%d", $9 * 1000 / hz }' /proc/stat
}
# CPU time of this shell's reaped children: curl and wrk.
children_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$$/stat"; }
children_of() { cat "/proc/$1/task/$1/children" 2>/dev/null || true; }
# A server's CPU time: the process (all threads) and its running children
# (nginx's workers; sealportd has none).
server_cpu_ms() {  # pid
  { cat "/proc/$1/stat"; for c in $(children_of "$1"); do cat "/proc/$c/stat" 2>/dev/null || true; done; } |
    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%d", t * 1000 / '"$(getconf CLK_TCK)"' }'
}
# Peak RSS: VmHWM, reset before each run (clear_refs 5, Linux >= 4.0), of the
# process and of each of its children, summed (nginx: master + workers).
reset_hwm() {  # pid
  local c
  for c in $1 $(children_of "$1"); do
    echo 5 > "/proc/$c/clear_refs" 2>/dev/null || hwm_reset_ok=0
  done
}
hwm_kb() {  # pid
  local c
  for c in $1 $(children_of "$1"); do cat "/proc/$c/status" 2>/dev/null || true; done |
    awk '/^VmHWM:/ { s += $2 } END { printf "%d", s }'
}
hwm_reset_ok=1

stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

header_of() {  # file name
  tr -d '\r' < "$1" | awk -F': ' -v n="$2" 'tolower($1) == tolower(n) { v = $2 } END { print v }'
}

# --- the study and the certificate -----------------------------------------

mkdir -p "$work"
chmod 700 "$work"
study="$work/study-${series//[^A-Za-z0-9]/_}-seed$seed"
if [ ! -f "$study.json" ]; then
  rm -rf "$study"
  log "generating the study $series (seed $seed) in $study"
  "$gen" --out "$study" --series "$series" --seed "$seed" > "$study.json.tmp"
  mv "$study.json.tmp" "$study.json"
fi
nfiles=$(find "$study" -type f -name '*.dcm' | wc -l)
study_bytes=$(find "$study" -type f -name '*.dcm' -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')

host="bench.sealport.test"   # resolved to 127.0.0.1 by curl --resolve
tls="$work/tls"
mkdir -p "$tls"
if [ ! -f "$tls/cert.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$host/O=sealport bench" -addext "subjectAltName=DNS:$host" \
    -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
fi
cert="$tls/cert.pem"
[ -f "$work/master.key" ] || "$sealportd" --generate-key "$work/master.key" >/dev/null

curl_base=(curl -sS --http1.1 --cacert "$cert")

# --- servers -----------------------------------------------------------------

declare -A pid port dl_url page_url token_of left_of ctl_of
server_pids=()
ngx_dir=""
cleanup() {
  local p
  for p in "${server_pids[@]}"; do stop_pid "$p"; done
  rm -rf "/dev/shm/sealport-bench-links-$$"
  [ -z "$ngx_dir" ] || rm -rf "$ngx_dir"
  true
}
trap cleanup EXIT

# A link with `max` downloads (the config allows up to 1000).
new_link() {  # peer
  local peer="$1" out url
  out="$(${ctl_of[$peer]} --json link create --study "$study_uid" --max-downloads 1000 --recipient "bench")" ||
    die "$peer: link create failed: $out"
  url="$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' <<<"$out")"
  [ -n "$url" ] || die "$peer: link create said: $out"
  token_of[$peer]="${url##*/s/}"
  left_of[$peer]=1000
  dl_url[$peer]="https://$host:${port[$peer]}/s/${token_of[$peer]}/download"
}

# Makes sure the peer's link has `n` more downloads (every download counts one).
downloads_left() {  # peer n
  case "$1" in sealportd*) ;; *) return 0 ;; esac
  if [ "${left_of[$1]}" -lt "$2" ]; then new_link "$1"; fi
  left_of[$1]=$(( ${left_of[$1]} - $2 ))
}

start_sealportd() {  # peer state-dir
  local peer="$1" state="$2" d="$work/$1"
  rm -rf "$d" "$state"
  mkdir -p "$d" "$(dirname "$state")"
  cat > "$d/sealport.toml" <<TOML
state_dir = "$state"
key_file = "$work/master.key"

[control]
socket = "$d/control.sock"

[dicom]
listen = "127.0.0.1:0"
ae_title = "SEALPORT"
allowed_calling_aes = ["BENCH"]

[links]
listen = "127.0.0.1:0"
public_url = "https://$host"
tls_cert = "$tls/cert.pem"
tls_key = "$tls/key.pem"

[roles]
security = ["uid:$(id -u)"]
operator = ["uid:$(id -u)"]
auditor = ["uid:$(id -u)"]

[policy]
# Every download counts one; the benchmark downloads the study many times.
max_downloads_max = 1000
TOML
  "$sealportd" --config "$d/sealport.toml" --init >/dev/null
  # A private scratch base (RUNTIME_DIRECTORY, as under systemd) for each
  # daemon: a sealportd starting removes every sealport-scratch-* directory of
  # its user in /dev/shm, including one that another, running sealportd uses
  # (whose downloads then fail with 500).
  local run_dir="/dev/shm/sealport-bench-links-$$/run-$peer"
  mkdir -p "$run_dir"
  RUNTIME_DIRECTORY="$run_dir" "${as_server[@]}" "$sealportd" --config "$d/sealport.toml" > "$d/server.log" 2>&1 &
  pid[$peer]=$!
  server_pids+=("${pid[$peer]}")
  ctl_of[$peer]="$sealportctl --socket $d/control.sock"
  local status=""
  for _ in $(seq 1 100); do
    status="$(${ctl_of[$peer]} --json status 2>/dev/null)" && break
    kill -0 "${pid[$peer]}" 2>/dev/null || die "$peer did not start: $(tail -n 5 "$d/server.log")"
    sleep 0.1
  done
  local dicom_port
  dicom_port="$(sed -n 's/.*"dicom_port":\([0-9]*\).*/\1/p' <<<"$status")"
  port[$peer]="$(sed -n 's/.*"https_port":\([0-9]*\).*/\1/p' <<<"$status")"
  { [ -n "$dicom_port" ] && [ -n "${port[$peer]}" ]; } || die "$peer did not report its ports: $status"

  storescu -aet BENCH -aec SEALPORT +sd +r 127.0.0.1 "$dicom_port" "$study" > "$d/storescu.log" 2>&1 ||
    die "$peer: storescu failed: $(tail -n 5 "$d/storescu.log")"
  local stored
  stored=$(find "$state/blobs" -type f ! -name '.*' | wc -l)
  [ "$stored" -eq "$nfiles" ] || die "$peer: $stored of $nfiles images stored"
  # The study's UID as the catalogue holds it (the only study there).
  study_uid="$(${ctl_of[$peer]} --json studies | sed -n 's/.*"study_uid":"\([0-9.]*\)".*/\1/p' | head -n 1)"
  [ -n "$study_uid" ] || die "$peer: no study in the catalogue after the send"
  new_link "$peer"
  page_url[$peer]="https://$host:${port[$peer]}/s/${token_of[$peer]}"
}

# The reference download: its bytes are what nginx serves.
reference_zip() {
  local h="$work/reference.headers" w
  downloads_left sealportd 1
  w="$("${curl_base[@]}" --resolve "$host:${port[sealportd]}:127.0.0.1" -D "$h" -o "$work/reference.zip" \
      -w '%{http_code} %{size_download}' "${dl_url[sealportd]}")" || die "reference download failed"
  read -r code size <<<"$w"
  [ "$code" = 200 ] || die "reference download: HTTP $code"
  [ "$size" = "$(header_of "$h" Content-Length)" ] || die "reference download: $size bytes, Content-Length $(header_of "$h" Content-Length)"
  unzip -tq "$work/reference.zip" > "$work/unzip.log" 2>&1 || die "the ZIP fails unzip -t: $(tail -n 3 "$work/unzip.log")"
  local entries
  entries=$(unzip -Z1 "$work/reference.zip" | wc -l)
  [ "$entries" -eq $((nfiles + 2)) ] || die "the ZIP holds $entries entries, not $nfiles images + DICOMDIR + README.TXT"
  zip_bytes=$size
  # The landing page as a file, for nginx; and its security headers, which
  # nginx sends too, so that both answers are about the same size.
  "${curl_base[@]}" --resolve "$host:${port[sealportd]}:127.0.0.1" -D "$work/landing.headers" \
    -o "$work/landing.html" "${page_url[sealportd]}" || die "landing page failed"
  grep -q '^HTTP/1.1 200' "$work/landing.headers" || die "landing page: $(head -n1 "$work/landing.headers")"
  page_bytes=$(stat -c %s "$work/landing.html")
}

start_nginx() {
  local peer=nginx d
  ngx_dir="$(mktemp -d "${TMPDIR:-/tmp}/sealport-bench-nginx.XXXXXX")"
  d="$ngx_dir"
  mkdir -p "$d/www" "$d/tmp"
  cp "$tls/cert.pem" "$tls/key.pem" "$d/"
  cp "$work/reference.zip" "$d/www/study.zip"
  cp "$work/landing.html" "$d/www/landing.html"
  port[$peer]=$(free_port)
  local csp hdr=""
  csp="$(header_of "$work/landing.headers" Content-Security-Policy)"
  for h in Cache-Control Referrer-Policy X-Content-Type-Options X-Frame-Options Strict-Transport-Security; do
    hdr="$hdr        add_header $h \"$(header_of "$work/landing.headers" "$h")\" always;"$'\n'
  done
  # Settings as sealportd's (daemon/links/https_server.cpp): TLS 1.2 and 1.3,
  # Mozilla intermediate TLS 1.2 suites without DHE, the same groups, no
  # session tickets, no server cipher preference; one worker per CPU.
  cat > "$d/nginx.conf" <<NGINX
daemon off;
worker_processes $( [ "$pin" = split ] && echo 2 || echo "$ncpu" );
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    types { application/zip zip; text/html html; }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:${port[$peer]} ssl;
        server_name $host;
        ssl_certificate     $d/cert.pem;
        ssl_certificate_key $d/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_ecdh_curve X25519:prime256v1:secp384r1;
        ssl_prefer_server_ciphers off;
        ssl_session_tickets off;
        root $d/www;
        location = /landing.html {
$hdr        add_header Content-Security-Policy "$csp" always;
        }
    }
}
NGINX
  # Not as root: as root nginx would switch its workers to `nobody` anyway;
  # started as nobody from the beginning, the whole dir is nobody's (a
  # root-owned error.log would stop it, see the research brief).
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    chown -R nobody:nogroup "$d"
    run=(setpriv --reuid nobody --regid nogroup --clear-groups --)
  fi
  "${as_server[@]}" "${run[@]}" "$nginx_bin" -c "$d/nginx.conf" -p "$d" -e "$d/error.log" > "$work/nginx.log" 2>&1 &
  pid[$peer]=$!
  server_pids+=("${pid[$peer]}")
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/${port[$peer]}") 2>/dev/null && break
    kill -0 "${pid[$peer]}" 2>/dev/null || die "nginx did not start: $(cat "$work/nginx.log" "$d/error.log" 2>/dev/null | tail -n 5)"
    sleep 0.1
  done
  dl_url[$peer]="https://$host:${port[$peer]}/study.zip"
  page_url[$peer]="https://$host:${port[$peer]}/landing.html"
  # nginx serves exactly the reference bytes.
  "${curl_base[@]}" --resolve "$host:${port[$peer]}:127.0.0.1" -o "$work/nginx-check.zip" "${dl_url[$peer]}" ||
    die "nginx: download failed"
  cmp -s "$work/nginx-check.zip" "$work/reference.zip" || die "nginx: the bytes served differ from the reference ZIP"
  rm -f "$work/nginx-check.zip"
}

# The TLS version and cipher a curl download negotiates with a peer.
negotiated() {  # peer
  "${curl_base[@]}" -v --resolve "$host:${port[$1]}:127.0.0.1" -o /dev/null "${page_url[$1]}" 2>&1 |
    sed -n 's/^\* SSL connection using \(.*\)$/\1/p' | head -n1
}

# --- measurements ---------------------------------------------------------------

results="$work/results.tsv"
printf 'test\tpeer\tround\tvalue\twall_ms\tbytes\tserver_cpu_ms\tpeak_rss_kb\tbusy_before_pct\tother_cpu_pct\tsteal_pct\tdetail\n' > "$results"
runs_dir="$work/runs"
rm -rf "$runs_dir"
mkdir -p "$runs_dir"

# Around each run: machine and process CPU counters, peak RSS reset.
begin_run() {  # peer
  # Dirty pages (the ingested blobs, another run's files) are written back
  # before the clock starts, not during the run.
  sync
  wait_quiet
  reset_hwm "${pid[$1]}"
  cpu0=$(server_cpu_ms "${pid[$1]}"); m0=$(machine_ms busy); s0=$(machine_ms steal); c0=$(children_ms)
  t0=$(date +%s%N)
}
end_run() {  # test peer round value bytes detail
  local t1 cpu1 m1 s1 c1 wall_ms other steal rss
  t1=$(date +%s%N)
  cpu1=$(server_cpu_ms "${pid[$2]}"); m1=$(machine_ms busy); s1=$(machine_ms steal); c1=$(children_ms)
  rss=$(hwm_kb "${pid[$2]}")
  wall_ms=$(( (t1 - t0) / 1000000 ))
  [ "$wall_ms" -gt 0 ] || wall_ms=1
  # What else used the CPUs: the machine's busy time less the server's and
  # the clients' (curl, wrk), as a share of all CPUs over the wall time.
  other=$(( (m1 - m0 - (cpu1 - cpu0) - (c1 - c0)) * 100 / (wall_ms * ncpu) ))
  [ "$other" -ge 0 ] || other=0
  steal=$(( (s1 - s0) * 100 / (wall_ms * ncpu) ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$wall_ms" "$5" \
    "$((cpu1 - cpu0))" "$rss" "$busy" "$other" "$steal" "$6" >> "$results"
  log "$(printf '%-10s round %s %-15s %10s  server CPU %6d ms  peak RSS %7d kB  (%s%% busy before, others %s%%, steal %s%%)  %s' \
    "$1" "$3" "$2" "$4" "$((cpu1 - cpu0))" "$rss" "$busy" "$other" "$steal" "$6")"
  # (--smoke does not wait for an idle machine and judges no figure.)
  [ "$other" -le "$other_max" ] || [ "$smoke" -eq 1 ] ||
    log "warning: other work used $other% of the CPUs during this run: not on an idle machine"
}

# Checks one download: HTTP 200, its size equals Content-Length and the ZIP's.
check_download() {  # peer w-output headers-file
  local code size tt
  read -r code size tt _ <<<"$2"
  [ "$code" = 200 ] || die "$1: HTTP $code ($3)"
  local cl
  cl="$(header_of "$3" Content-Length)"
  [ "$size" = "$cl" ] || die "$1: downloaded $size bytes, Content-Length $cl ($3)"
  [ "$size" = "$zip_bytes" ] || die "$1: downloaded $size bytes, the reference ZIP has $zip_bytes"
}

single() {  # peer round
  local peer="$1" round="$2" d="$runs_dir/single-$1-$2" w
  mkdir -p "$d"
  downloads_left "$peer" 1
  begin_run "$peer"
  w="$("${as_client[@]}" "${curl_base[@]}" --resolve "$host:${port[$peer]}:127.0.0.1" -D "$d/headers" -o /dev/null \
      -w '%{http_code} %{size_download} %{time_total} %{time_starttransfer}' "${dl_url[$peer]}")" ||
    die "$peer: curl failed"
  local tt ttfb size mbs
  read -r _ size tt ttfb <<<"$w"
  mbs=$(awk -v b="$size" -v t="$tt" 'BEGIN { printf "%.1f", b / 1e6 / t }')
  end_run single "$peer" "$round" "$mbs" "$size" "ttfb_ms=$(awk -v t="$ttfb" 'BEGIN { printf "%.1f", t * 1000 }')"
  check_download "$peer" "$w" "$d/headers"
}

concurrent() {  # peer round
  local peer="$1" round="$2" d="$runs_dir/concurrent-$1-$2" k
  mkdir -p "$d"
  downloads_left "$peer" "$clients"
  local pids=()
  begin_run "$peer"
  for ((k = 0; k < clients; k++)); do
    "${as_client[@]}" "${curl_base[@]}" --resolve "$host:${port[$peer]}:127.0.0.1" -D "$d/headers-$k" -o /dev/null \
      -w '%{http_code} %{size_download} %{time_total} %{time_starttransfer}' "${dl_url[$peer]}" > "$d/w-$k" 2>"$d/err-$k" &
    pids+=($!)
  done
  local rc=0 failed=""
  for k in "${!pids[@]}"; do
    wait "${pids[k]}" || { rc=$?; failed="$failed $k"; }
  done
  local t_end; t_end=$(date +%s%N)
  local total slowest fastest
  # One line per file, without a newline at its end: awk reads each file.
  total=$(awk '{ s += $2 } END { printf "%d", s }' "$d"/w-*)
  slowest=$(awk '$3 > m { m = $3 } END { printf "%.2f", m }' "$d"/w-*)
  fastest=$(awk 'NR == 1 || $3 < m { m = $3 } END { printf "%.2f", m }' "$d"/w-*)
  local mbs
  mbs=$(awk -v b="$total" -v t0="$t0" -v t1="$t_end" 'BEGIN { printf "%.1f", b / 1e6 / ((t1 - t0) / 1e9) }')
  end_run concurrent "$peer" "$round" "$mbs" "$total" "per_download_s=$fastest-$slowest"
  [ "$rc" -eq 0 ] || die "$peer: curl(s)$failed of $clients failed: $(cat "$d"/err-* | head -n 3)"
  for ((k = 0; k < clients; k++)); do check_download "$peer" "$(cat "$d/w-$k")" "$d/headers-$k"; done
}

# wrk's latency in ms from "1.23ms", "456.00us", "1.02s".
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); n = v + 0
  printf "%.2f", u == "us" ? n / 1000 : u == "s" ? n * 1000 : u == "m" ? n * 60000 : n }'; }

landing() {  # peer round
  local peer="$1" round="$2" out="$runs_dir/wrk-$1-$2.txt"
  # wrk does not verify the certificate and connects to the URL's host: the
  # address, with the peer's certificate all the same.
  local url="${page_url[$peer]/$host/127.0.0.1}"
  begin_run "$peer"
  "${as_client[@]}" wrk -t"$wrk_threads" -c"$wrk_connections" -d"${wrk_seconds}s" --latency "$url" > "$out" 2>&1 ||
    die "$peer: wrk failed: $(tail -n 3 "$out")"
  local rps p50 p99 non2xx errors reqs
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  reqs=$(awk '/requests in/ { print $1 }' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$out")
  # connect, read and write errors, then timeouts (no answer within wrk's 2 s)
  errors=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 }' "$out")
  timeouts=$(awk '/Socket errors/ { print $NF }' "$out")
  end_run landing "$peer" "$round" "$rps" "$(awk '/^Transfer\/sec/ { print $2 }' "$out")" \
    "p50_ms=$p50 p99_ms=$p99 requests=$reqs max_ms=$(to_ms "$(awk '$1 == "Latency" { print $4 }' "$out")") errors=${errors:-0} timeouts=${timeouts:-0} non2xx=${non2xx:-0}"
  { [ -n "$rps" ] && [ "${reqs:-0}" -gt 0 ]; } || die "$peer: wrk got no answer: $(tail -n 3 "$out")"
  # Mostly errors would measure an error page, not the landing page.
  [ "${non2xx:-0}" -le $(( reqs / 100 )) ] || die "$peer: $non2xx of $reqs answers to the landing page were not 2xx ($out)"
  # A few slow or failed answers are a result, not a failure of the benchmark:
  # recorded, counted in the summary, and said.
  { [ "${errors:-0}" -eq 0 ] && [ "${timeouts:-0}" -eq 0 ] && [ "${non2xx:-0}" -eq 0 ]; } ||
    log "warning: $peer: wrk saw ${errors:-0} socket error(s), ${timeouts:-0} timeout(s) (no answer within 2 s) and ${non2xx:-0} non-2xx answer(s); see $out and the server's log"
}

# --- run -------------------------------------------------------------------------

log "starting sealportd and ingesting $nfiles images ($study_bytes bytes) with storescu"
start_sealportd sealportd "$work/sealportd/state"
case " $peers " in
  *" sealportd-tmpfs "*) start_sealportd sealportd-tmpfs "/dev/shm/sealport-bench-links-$$/state" ;;
esac
reference_zip
log "the ZIP: $zip_bytes bytes ($nfiles images + DICOMDIR + README.TXT), passes unzip -t; the landing page: $page_bytes bytes"
start_nginx
tls_sealport="$(negotiated sealportd)"
tls_nginx="$(negotiated nginx)"
log "TLS: sealportd $tls_sealport; nginx $tls_nginx"

# --profile: where each server's CPU time goes, instead of the rounds.
# Each sample is attributed by its call chain: what sealportd was doing (its
# own frames; nginx's binary has no symbols, so nginx gets "-") and in which
# layer (the library or kernel path of the innermost frame).
classify_samples() {  # perf-script-file
  awk '
    BEGIN { RS = ""; FS = "\n" }
    {
      # The innermost frame; inlined frames name no library: take the
      # library of the first real frame, and the name of the innermost.
      chain = $0; sym = $2; leaf = $2
      for (i = 2; i <= NF; i++) if ($i !~ /\(inlined\)/) { leaf = $i; break }
      what = "-"
      if (chain ~ /BlobReader::read/) what = "blob: read + AES-GCM decrypt"
      else if (chain ~ /AuditLog::append/) what = "audit entry (SQLCipher, fsync)"
      else if (chain ~ /buildDicomDir|planFileSet/) what = "DICOMDIR"
      else if (chain ~ /Catalogue::|LinkStore::|ensureCrcs/) what = "catalogue and link look-ups (SQLCipher)"
      else if (chain ~ /core::log::|sd_journal/) what = "logging"
      else if (chain ~ /LinkService|callHandler/) what = "request handler, other"
      else if (chain ~ /ZipStream/) what = "ZIP producer"
      else if (chain ~ /ssl::detail::engine|ssl::detail::io_op/) what = "TLS stream (asio ssl engine)"
      else if (chain ~ /sealportd\)/) what = "network I/O, event loop, other"
      if (sym ~ /__mem(move|cpy)_/) layer = "libc memcpy"
      else if (leaf ~ /libcrypto/) layer = "libcrypto (AES-GCM, SHA, ...)"
      else if (leaf ~ /libssl/) layer = "libssl (records)"
      else if (leaf ~ /libc\.so/) layer = "libc, other"
      else if (leaf ~ /kernel|kallsyms/) {
        if (chain ~ /filemap_read|copy_page_to_iter|generic_file_read|ext4_file_read|shmem_file_read/) layer = "kernel: file read (page-cache copy)"
        else if (chain ~ /tcp_sendmsg|sock_sendmsg|sock_write_iter|__sys_sendto/) layer = "kernel: TCP send"
        else if (chain ~ /tcp_recvmsg|sock_recvmsg|sock_read_iter|__sys_recvfrom/) layer = "kernel: TCP receive"
        else if (chain ~ /fsync|fdatasync|jbd2|file_write_and_wait|ext4_sync/) layer = "kernel: fsync"
        else if (chain ~ /vfs_write|ext4_buffered_write|shmem_write/) layer = "kernel: file write"
        else if (chain ~ /futex/) layer = "kernel: futex"
        else if (chain ~ /epoll|schedule|finish_task_switch/) layer = "kernel: epoll, scheduler"
        else layer = "kernel: other"
      } else if (leaf ~ /libdcm|libof/) layer = "DCMTK"
      else if (leaf ~ /sqlcipher/) layer = "SQLCipher"
      else if (leaf ~ /sealportd\)|nginx\)/) layer = "the server binary"
      else layer = "other"
      n++; w[what]++; l[layer]++; wl[what " / " layer]++
    }
    function show(title, a,   k) {
      print title
      for (k in a) if (100 * a[k] / n >= 0.5) printf "  %5.1f%%  %s\n", 100 * a[k] / n, k | "sort -rn"
      close("sort -rn")
    }
    END {
      printf "%d samples\n", n
      show("by what the server was doing (sealportd call chains):", w)
      show("by layer (innermost frame):", l)
      show("both (at least 0.5%):", wl)
    }' "$1"
}

profile_peer() {  # peer workload
  local peer="$1" load="$2" out="$work/perf-$1-$2" pids c
  pids="${pid[$peer]}"
  for c in $(children_of "${pid[$peer]}"); do pids="$pids,$c"; done
  wait_quiet
  local cpu0; cpu0=$(server_cpu_ms "${pid[$peer]}")
  perf record -F 999 --call-graph dwarf,16384 -p "$pids" -o "$out.data" > "$out.log" 2>&1 &
  local perf_pid=$!
  # System calls made meanwhile (tracepoints: counted exactly, at little cost).
  local ev="" e
  for e in sendto sendmsg write writev read recvfrom pread64 fsync fdatasync futex clock_nanosleep epoll_wait; do
    ev="$ev${ev:+,}syscalls:sys_enter_$e"
  done
  perf stat -x, -e "$ev" -p "$pids" -o "$out.syscalls" > /dev/null 2>&1 &
  local stat_pid=$!
  sleep 1
  case "$load" in
    download)
      local k
      for k in 1 2 3; do
        downloads_left "$peer" 1
        "${as_client[@]}" "${curl_base[@]}" --resolve "$host:${port[$peer]}:127.0.0.1" -o /dev/null "${dl_url[$peer]}"
      done ;;
    landing)
      "${as_client[@]}" wrk -t"$wrk_threads" -c"$wrk_connections" -d5s "${page_url[$peer]/$host/127.0.0.1}" > "$out.wrk" 2>&1 ;;
  esac
  local cpu1; cpu1=$(server_cpu_ms "${pid[$peer]}")
  kill -INT "$perf_pid" "$stat_pid"; wait "$perf_pid" || true; wait "$stat_pid" || true
  perf script -i "$out.data" -F tid,ip,sym,dso > "$out.script" 2>/dev/null
  {
    echo "$peer, $load ($( [ "$load" = download ] && echo "3 downloads one after the other" || echo "wrk -t$wrk_threads -c$wrk_connections -d5s: $(awk '/requests in/ { print $1 }' "$out.wrk") requests")): server CPU $((cpu1 - cpu0)) ms while recorded"
    echo "system calls: $(awk -F, '$3 ~ /sys_enter/ && $1 + 0 > 0 { sub(/.*sys_enter_/, "", $3); printf "%s %s, ", $3, $1 }' "$out.syscalls" | sed 's/, $//')"
    classify_samples "$out.script"
  } > "$out.txt"
  rm -f "$out.script"
  cat "$out.txt"
}

if [ "$profile" -eq 1 ]; then
  command -v perf >/dev/null || die "--profile: perf not found (Debian package linux-perf)"
  log "profiling (perf record -F 999 --call-graph dwarf): $peers; downloads, then the landing page"
  for load in download landing; do
    for peer in $peers; do profile_peer "$peer" "$load"; done
  done
  log "profiles: $work/perf-PEER-{download,landing}.{txt,data}"
  exit 0
fi

for round in $(seq 1 "$runs"); do
  for peer in $peers; do single "$peer" "$round"; done
done
for round in $(seq 1 "$runs"); do
  for peer in $peers; do concurrent "$peer" "$round"; done
done
for round in $(seq 1 "$runs"); do
  for peer in $peers; do landing "$peer" "$round"; done
done

# --- summary ---------------------------------------------------------------------

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); $ncpu CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r); kTLS: $(grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null && echo available || echo "not available (no zero-copy sendfile over TLS)")"
  echo "sealportd: $build ($build_type; sources $src_dir, $src_rev); $("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //'); $(curl --version | head -n1 | cut -d' ' -f1-2,5); $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2); $(openssl version | cut -d' ' -f1-2)"
  echo "study: $series (seed $seed), $nfiles images, $study_bytes bytes; the ZIP: $zip_bytes bytes (stored, DICOMDIR + README.TXT + images); landing page $page_bytes bytes; state and the ZIP's copy for nginx in page cache"
  echo "TLS (curl): sealportd $tls_sealport; nginx $tls_nginx; same certificate (EC P-256), same cipher settings"
  if [ "$pin" = split ]; then
    echo "CPUs: servers pinned to CPU $server_cpus, curl and wrk to CPU $client_cpus (taskset); nginx with 2 workers, sealportd with its 2 network threads and 4 workers"
  else
    echo "CPUs: not pinned: servers and clients share all $ncpu CPUs; nginx with $ncpu workers, sealportd with its 2 network threads and 4 workers"
  fi
  echo "median of $runs rounds, peers in the order \"$peers\" in each round; $clients downloads at once; wrk -t$wrk_threads -c$wrk_connections -d${wrk_seconds}s, keep-alive"
  [ "$hwm_reset_ok" -eq 1 ] || echo "note: VmHWM could not be reset (clear_refs): peak RSS is since each server started"
  echo
  awk -F'\t' -v order="$peers" -v clients="$clients" -v rg="$rss_goal_mib" -v tg="$ratio_goal" -v smoke="$smoke" '
    NR == 1 { next }
    { k = $1 SUBSEP $2; v[k] = v[k] " " $4; w[k] = w[k] " " $5; cpu[k] = cpu[k] " " $7; rss[k] = rss[k] " " $8
      b[k] = b[k] " " $6; n[k]++
      if (!(k in lo) || $4 + 0 < lo[k]) lo[k] = $4 + 0; if ($4 + 0 > hi[k]) hi[k] = $4 + 0
      # Body only: the bytes over the time after the first byte.
      if ($1 == "single") { split($12, a, "="); ttfb[k] = ttfb[k] " " a[2]
        body[k] = body[k] " " $6 / 1e6 / ($6 / 1e6 / $4 - a[2] / 1000) }
      if ($1 == "landing") { split($12, a, /[= ]/); p50[k] = p50[k] " " a[2]; p99[k] = p99[k] " " a[4]
        if (a[8] + 0 > mx[k]) mx[k] = a[8] + 0; to[k] += a[12] + a[10]; bad[k] += a[14] } }
    function median(list,   a, m, i, j, t) {
      m = split(list, a, " ")
      for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    function ratio(t, q) { return q == "nginx" ? "1" : sprintf("%.2f×", median(v[t SUBSEP q]) / median(v[t SUBSEP "nginx"])) }
    END {
      np = split(order, peers, " ")
      print "(a) one download at a time (curl, the whole request: handshake, first byte, body)"
      print ""
      print "| peer | MB/s (median) | min–max | time to first byte | body only | server CPU per download | ÷ nginx |"
      print "|---|---|---|---|---|---|---|"
      for (p = 1; p <= np; p++) { q = peers[p]; k = "single" SUBSEP q
        printf "| %s | **%.0f** | %.0f–%.0f | %.1f ms | %.0f MB/s | %d ms | %s |\n", q, median(v[k]), lo[k], hi[k], median(ttfb[k]),
          median(body[k]), median(cpu[k]), ratio("single", q) }
      print ""
      printf "(b) %d downloads at once (aggregate: all bytes ÷ wall time from the first start to the last end)\n\n", clients
      print "| peer | MB/s (median) | min–max | wall | server CPU | peak RSS (VmHWM) | ÷ nginx |"
      print "|---|---|---|---|---|---|---|"
      for (p = 1; p <= np; p++) { q = peers[p]; k = "concurrent" SUBSEP q
        printf "| %s | **%.0f** | %.0f–%.0f | %.2f s | %.2f s | **%.0f MiB** | %s |\n", q, median(v[k]), lo[k], hi[k], median(w[k]) / 1000,
          median(cpu[k]) / 1000, median(rss[k]) / 1024, ratio("concurrent", q)
        if (q != "nginx" && (median(rss[k]) / 1024 > maxrss)) maxrss = median(rss[k]) / 1024 }
      print ""
      print "(c) landing page (wrk, keep-alive; nginx: the same bytes and security headers as a static file)"
      print ""
      print "| peer | requests/s (median) | min–max | latency p50 | p99 | max (all runs) | timeouts + errors (all runs) | non-2xx (all runs) | server CPU per request | ÷ nginx |"
      print "|---|---|---|---|---|---|---|---|---|---|"
      for (p = 1; p <= np; p++) { q = peers[p]; k = "landing" SUBSEP q
        printf "| %s | **%.0f** | %.0f–%.0f | %.2f ms | %.2f ms | %.0f ms | %d | %d | %.3f ms | %s |\n", q, median(v[k]), lo[k], hi[k],
          median(p50[k]), median(p99[k]), mx[k], to[k], bad[k], median(cpu[k]) / (median(v[k]) * median(w[k]) / 1000), ratio("landing", q) }
      if (smoke) exit
      s = median(v["single" SUBSEP "sealportd"]) / median(v["single" SUBSEP "nginx"])
      c = median(v["concurrent" SUBSEP "sealportd"]) / median(v["concurrent" SUBSEP "nginx"])
      r = median(rss["concurrent" SUBSEP "sealportd"]) / 1024
      print ""
      printf "goals (issue 5): throughput >= %.1f× nginx: one download %.2f× (%s), %d at once %.2f× (%s); sealportd peak RSS with %d downloads < %d MiB: %.0f MiB (%s)\n",
        tg, s, (s >= tg ? "met" : "NOT met"), clients, c, (c >= tg ? "met" : "NOT met"), clients, rg, r, (r < rg ? "met" : "NOT met")
    }' "$results"
  awk -F'\t' -v q="$quiet_pct" -v om="$other_max" 'NR > 1 {
      if ($9 + 0 > b) b = $9 + 0; if ($10 + 0 > o) o = $10 + 0; if ($11 + 0 > s) s = $11 + 0
      if ($9 + 0 > q || $10 + 0 > om) { n++; which = which " " $1 "/" $2 "/" $3 } }
    END { printf "\nmachine load: before each run at most %d%% busy (threshold %d%%; -1: not measured); during the runs, other work at most %d%% (threshold %d%%) and steal at most %d%% of the CPUs; %s\n",
      b, q, o, om, s, n ? n " run(s) NOT on an idle machine:" which : "every run on an idle machine" }' "$results"
  echo
  echo "MB = 10^6 bytes of the ZIP. ÷ nginx: the peer's median divided by nginx's (above 1: faster than nginx)."
  echo "(a) MB/s: the ZIP's size over curl's time_total; body only: over time_total less time_starttransfer."
  echo "Server CPU: user + system time of the server (nginx: master and workers) during the run. Peak RSS: VmHWM,"
  echo "reset before each run (nginx: master + workers summed). Every download was checked: HTTP 200 and size = Content-Length = the ZIP's."
} | tee "$work/results.md"
