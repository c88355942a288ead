#!/usr/bin/env bash
# DICOM ingest benchmark (issue 4): the same synthetic study, sent with DCMTK's
# storescu over loopback (one association, or --parallel N at once), to
# sealportd and to the anchors (DCMTK storescp, plain and bit-preserving, and
# Orthanc). Wall time of the whole send, images/s,
# MB/s, server CPU time and peak RSS; the median of --runs rounds, peers
# interleaved within each round. See bench/ingest/README.md and
# docs/performance.md. Run by hand; not a test.
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
build="$top/build-bench"
work="$top/var/bench-ingest"
runs=3
images=1000
size=512x512
seed=1
peers="sealportd storescp storescp-B orthanc"
quiet_pct=25      # wait until the machine is at most this busy before each run
quiet_wait=600    # ... for at most this many seconds (0: do not wait)
other_max=10      # a send during which other work used more of the CPUs is flagged
parallel=1        # storescu processes (associations) sending at once

usage() {
  cat <<EOF
usage: bench/ingest/run.sh [options]

  --build DIR        sealport build with bin/sealportd, bin/sealportctl and
                     bin/sealport-gen-study (default: build-bench/, configured
                     RelWithDebInfo and built if missing)
  --work DIR         studies, state and results (default: var/bench-ingest/);
                     put it on the disk you want to measure
  --runs N           rounds; the median is reported (default: $runs)
  --images N         images in the CT series (default: $images)
  --size RxC         image size (default: $size; 16-bit CT, explicit VR LE)
  --peers LIST       space- or comma-separated, in this order each round
                     (default: "$peers")
  --quiet-pct P      before each run, wait until the CPUs are at most P% busy
                     over 3 s (default: $quiet_pct); the busy figure is recorded,
                     and so is the CPU time others used during the send
  --quiet-wait S     wait at most S seconds for that (default: $quiet_wait; 0: never wait)
  --other-max P      flag a send during which other work used more than P% of
                     the CPUs (default: $other_max)
  --parallel N       send with N storescu processes at once, one association
                     each, the sorted files split into N contiguous groups
                     (default: $parallel); for N > 1 storescp runs with --fork
                     and Orthanc with DicomThreadsCount at least N; at most 16
                     with sealportd (its association limit)

Peers: sealportd (encrypted blobs, SQLCipher catalogue, fsync of each blob and
commit), storescp (DCMTK, plain files, no fsync), storescp-B (storescp +B,
bit-preserving), orthanc (Debian's Orthanc; installed with apt-get when run
as root and missing). Diagnostic, not in the default list: sealportd-tmpfs
(sealportd with its state in /dev/shm: what is left without disk I/O).
Results: WORK/results.tsv (every run) and WORK/results.md (the medians, and
the fsync latency of the work dir's disk), also printed.
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --peers) peers="${2//,/ }"; shift 2 ;;
    --quiet-pct) quiet_pct="$2"; shift 2 ;;
    --quiet-wait) quiet_wait="$2"; shift 2 ;;
    --other-max) other_max="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
done
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
case "$work" in /*) ;; *) work="$PWD/$work" ;; esac

log() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

case "$parallel" in ''|*[!0-9]*|0*) die "--parallel wants a positive integer, not '$parallel'" ;; esac
[ "$parallel" -le "$images" ] || die "--parallel $parallel: more associations than the $images images"
# sealportd refuses the 17th association at once (docs/dicom-conformance.md):
# more would measure refusals, not ingest.
case " $peers " in
  *" sealportd "*|*" sealportd-tmpfs "*)
    [ "$parallel" -le 16 ] || die "--parallel $parallel: sealportd serves at most 16 associations at once" ;;
esac

# Nagle's algorithm stalls every C-STORE response by 40 ms (platform.md): both
# ends read TCP_NODELAY from the environment (sealportd also sets it itself).
export TCP_NODELAY=1
umask 077

# --- tools ---------------------------------------------------------------

if [ ! -x "$build/bin/sealportd" ] || [ ! -x "$build/bin/sealportctl" ] ||
   [ ! -x "$build/bin/sealport-gen-study" ]; then
  log "building sealportd, sealportctl, sealport-gen-study (RelWithDebInfo) in $build"
  cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALPORT_BUILD_TESTS=OFF >/dev/null
  ninja -C "$build" sealportd sealportctl sealport_gen_study >/dev/null
elif [ -f "$build/build.ninja" ]; then
  # An existing build dir may hold binaries of older sources: bring it up to
  # date (a no-op when it is) rather than measure them.
  ninja -C "$build" sealportd sealportctl sealport_gen_study >/dev/null
fi
# Which sources were measured: the build's source dir and, in a git
# checkout, its commit (with -dirty for uncommitted changes).
src_dir="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)"
src_rev="$(git -C "${src_dir:-/nonexistent}" describe --always --dirty --abbrev=7 2>/dev/null || echo "not a git checkout")"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)"
case "$build_type" in
  RelWithDebInfo|Release) ;;
  *) log "warning: $build is a '${build_type:-unknown}' build; the figures are for RelWithDebInfo" ;;
esac
sealportd="$build/bin/sealportd"
sealportctl="$build/bin/sealportctl"
gen="$build/bin/sealport-gen-study"

command -v storescu >/dev/null || die "storescu not found (Debian package dcmtk; scripts/install-deps installs it)"
for p in $peers; do
  case "$p" in
    sealportd|sealportd-tmpfs) ;;
    storescp|storescp-B) command -v storescp >/dev/null || die "storescp not found (Debian package dcmtk)" ;;
    orthanc)
      if ! command -v Orthanc >/dev/null; then
        [ "$(id -u)" -eq 0 ] || die "Orthanc not found: as root, apt-get install -y orthanc (or leave orthanc out of --peers)"
        log "installing Debian's orthanc (apt-get)"
        # Debian's package enables a system service (port 4242/8042); this
        # benchmark never uses it and starts its own instance below.
        DEBIAN_FRONTEND=noninteractive apt-get install -y orthanc >/dev/null ||
          { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y orthanc >/dev/null; }
      fi ;;
    *) die "unknown peer '$p' (sealportd sealportd-tmpfs storescp storescp-B orthanc)" ;;
  esac
done

# --- helpers -------------------------------------------------------------

# A TCP port nobody listens on (a race with other programs is possible but
# harmless: the server then fails to start and the run stops).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    ss -ltnH "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}

wait_port() {  # port pid
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Percentage of CPU time not idle over three seconds, all CPUs (a short lull
# between two compile jobs must not pass for an idle machine).
cpu_busy() {
  local a b
  read -ra a < /proc/stat; sleep 3; read -ra b < /proc/stat  # the first line: all CPUs
  local total=0 idle i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  idle=$(( (b[4] - a[4]) + (b[5] - a[5]) ))
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# Waits (up to quiet_wait seconds) for other work on the machine to calm down,
# so that a compile elsewhere does not land in one peer's run only.
wait_quiet() {
  local busy start
  start=$(date +%s)
  busy=$(cpu_busy)
  while [ "$busy" -gt "$quiet_pct" ] && [ $(( $(date +%s) - start )) -lt "$quiet_wait" ]; do
    sleep 2
    busy=$(cpu_busy)
  done
  [ "$busy" -le "$quiet_pct" ] ||
    log "warning: the machine is still $busy% busy after ${quiet_wait}s of waiting; running anyway (recorded)"
  echo "$busy"
}

# Machine-wide CPU time (ms, all CPUs) spent not idle, and stolen by the
# hypervisor; CPU time of this shell's reaped children (storescu).
machine_ms() {  # busy|steal
  awk -v hz="$(getconf CLK_TCK)" -v what="$1" 'NR == 1 {
    if (what == "busy") printf "%d", ($2 + $3 + $4 + $7 + $8) * 1000 / hz
    else printf "%d", $9 * 1000 / hz }' /proc/stat
}
children_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$$/stat"; }

cpu_ms() { awk '{ printf "%d", ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# storescp --fork serves each association in a process of its own: the
# server's CPU time is then the parent's, its reaped children's and that of
# the children not reaped yet. Its SIGCHLD handler reaps one child per signal,
# so children that end together stay zombies until the next association;
# /proc keeps a zombie's CPU time.
server_forks=0
children_of() { cat "/proc/$1/task/$1/children" 2>/dev/null || true; }
server_cpu_ms() {  # pid
  if [ "$server_forks" -eq 1 ]; then
    local c
    # The parent's line first; a child gone in between is skipped (once
    # reaped, its time is in the parent's).
    { cat "/proc/$1/stat"; for c in $(children_of "$1"); do cat "/proc/$c/stat" 2>/dev/null || true; done; } |
      awk '{ sub(/^.*\) /, ""); t += $12 + $13; if (NR == 1) t += $14 + $15 }
        END { printf "%d", t * 1000 / '"$(getconf CLK_TCK)"' }'
  else
    cpu_ms "$1"
  fi
}
# The children still running (not zombies).
running_children_of() {  # pid
  local c state
  for c in $(children_of "$1"); do
    state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$c/stat" 2>/dev/null) || continue
    [ "$state" = Z ] || [ -z "$state" ] || printf '%s ' "$c"
  done
}

# ... and its memory is the parent's and the children's: the peak of the sum
# of their resident sizes, sampled every 0.2 s while the study is sent (bash
# builtins only but for sleep, so that the sampling costs next to nothing).
rss_sampler() {  # pid out-file
  set +e
  local peak=0 sum c key kb
  while kill -0 "$1" 2>/dev/null; do
    sum=0
    for c in $1 $(children_of "$1"); do
      while read -r key kb _; do
        if [ "$key" = VmRSS: ]; then sum=$((sum + kb)); fi
      done 2>/dev/null < "/proc/$c/status"
    done
    if [ "$sum" -gt "$peak" ]; then peak=$sum; echo "$peak" > "$2"; fi
    sleep 0.2
  done
}

stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

count_files() { find "$1" -type f ! -name '.*' 2>/dev/null | wc -l; }

# --- the study -----------------------------------------------------------

mkdir -p "$work"
chmod 700 "$work"
study="$work/study-ct-$images-$size-seed$seed"
if [ ! -f "$study.json" ]; then
  rm -rf "$study"
  log "generating $images CT images of $size (seed $seed) in $study"
  "$gen" --out "$study" --series "CT:$images:$size" --seed "$seed" > "$study.json.tmp"
  mv "$study.json.tmp" "$study.json"
fi
bytes=$(find "$study" -type f -name '*.dcm' -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
nfiles=$(find "$study" -type f -name '*.dcm' | wc -l)
[ "$nfiles" -eq "$images" ] || die "$study holds $nfiles files, not $images"

# --parallel N: the files, relative to the study (short command lines), in
# version order (S1/I1.dcm, S1/I2.dcm, ..., i.e. by instance number), split
# into N contiguous groups whose sizes differ by at most one. Group k holds
# files[group_start[k]] .. files[group_start[k + 1] - 1].
files=()
group_start=()
if [ "$parallel" -gt 1 ]; then
  mapfile -t files < <(cd "$study" && find . -type f -name '*.dcm' -printf '%P\n' | LC_ALL=C sort -V)
  [ "${#files[@]}" -eq "$images" ] || die "$study: listed ${#files[@]} files, not $images"
  for k in $(seq 0 "$parallel"); do group_start+=($(( k * images / parallel ))); done
fi

runs_dir="$work/runs"
rm -rf "$runs_dir"
mkdir -p "$runs_dir"
results="$work/results.tsv"
printf 'peer\tround\twall_ms\timages\tbytes\tserver_cpu_ms\tpeak_rss_kb\tbusy_before_pct\tother_cpu_pct\tsteal_pct\tparallel\n' > "$results"

# --- one run ---------------------------------------------------------------

server_pid=""
cleanup() { [ -n "$server_pid" ] && stop_pid "$server_pid"; true; }
trap cleanup EXIT

start_sealportd() {  # dir state-dir -> sets server_pid, port, aec
  local d="$1" state="$2"
  [ -f "$work/master.key" ] || "$sealportd" --generate-key "$work/master.key" >/dev/null
  cat > "$d/sealport.toml" <<TOML
state_dir = "$state"
key_file = "$work/master.key"

[control]
socket = "$d/control.sock"

[dicom]
listen = "127.0.0.1:0"
ae_title = "SEALPORT"
allowed_calling_aes = ["BENCH"]

[roles]
security = ["uid:$(id -u)"]
operator = ["uid:$(id -u)"]
auditor = ["uid:$(id -u)"]
TOML
  "$sealportd" --config "$d/sealport.toml" --init >/dev/null
  "$sealportd" --config "$d/sealport.toml" > "$d/server.log" 2>&1 &
  server_pid=$!
  local status=""
  for _ in $(seq 1 100); do
    status="$("$sealportctl" --socket "$d/control.sock" --json status 2>/dev/null)" && break
    kill -0 "$server_pid" 2>/dev/null || die "sealportd did not start: $(tail -n 5 "$d/server.log")"
    sleep 0.1
  done
  port="$(sed -n 's/.*"dicom_port":\([0-9]*\).*/\1/p' <<<"$status")"
  [ -n "$port" ] || die "sealportd did not report dicom_port: $status"
  aec=SEALPORT
}

start_storescp() {  # dir extra-args...
  local d="$1"; shift
  mkdir -p "$d/files"
  port=$(free_port)
  # Several associations at once need --fork (a process per association):
  # without it storescp serves one association at a time.
  [ "$parallel" -eq 1 ] || set -- --fork "$@"
  storescp "$@" -aet STORESCP -od "$d/files" "$port" > "$d/server.log" 2>&1 &
  server_pid=$!
  server_forks=$(( parallel > 1 ))
  wait_port "$port" "$server_pid" || die "storescp did not start: $(tail -n 5 "$d/server.log")"
  aec=STORESCP
}

start_orthanc() {
  local d="$1"
  port=$(free_port)
  mkdir -p "$d/storage" "$d/index"
  # Orthanc 1.10 has no option to bind its HTTP server to one address, so the
  # HTTP server is off: nothing of it is needed here. It runs at most
  # DicomThreadsCount DICOM operations at once, whatever the number of
  # associations: its default, 4, raised to --parallel when that is more.
  cat > "$d/orthanc.json" <<JSON
{
  "Name": "sealport-bench",
  "DicomAet": "ORTHANC",
  "DicomPort": $port,
  "StorageDirectory": "$d/storage",
  "IndexDirectory": "$d/index",
  "HttpServerEnabled": false,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "DicomCheckCalledAet": false,
  "DicomAlwaysAllowStore": true,
  "DicomAlwaysAllowEcho": true,
  "DicomThreadsCount": $(( parallel > 4 ? parallel : 4 )),
  "Plugins": [],
  "LuaScripts": []
}
JSON
  Orthanc "$d/orthanc.json" > "$d/server.log" 2>&1 &
  server_pid=$!
  wait_port "$port" "$server_pid" || die "Orthanc did not start: $(tail -n 5 "$d/server.log")"
  aec=ORTHANC
}

# sealportd-tmpfs keeps its state in memory, outside the work dir.
state_dir_of() {  # peer dir
  case "$1" in
    sealportd-tmpfs) echo "/dev/shm/sealport-bench-$$" ;;
    *) echo "$2/state" ;;
  esac
}

stored_count() {  # peer dir
  case "$1" in
    sealportd|sealportd-tmpfs) count_files "$(state_dir_of "$1" "$2")/blobs" ;;
    storescp|storescp-B) count_files "$2/files" ;;
    orthanc) count_files "$2/storage" ;;
  esac
}

run_one() {  # peer round
  local peer="$1" round="$2" d="$runs_dir/$1-$2"
  mkdir -p "$d"
  # The previous run's files are deleted and everything dirty is written back
  # before the clock starts: storescp leaves ~0.5 GB dirty in the page cache,
  # which would otherwise be written during the next peer's run.
  sync
  cat "$study"/*/*.dcm > /dev/null  # the input is read from the page cache for every peer
  local busy; busy=$(wait_quiet)
  server_forks=0
  case "$peer" in
    sealportd|sealportd-tmpfs)
      rm -rf "$(state_dir_of "$peer" "$d")"
      start_sealportd "$d" "$(state_dir_of "$peer" "$d")" ;;
    storescp) start_storescp "$d" ;;
    storescp-B) start_storescp "$d" +B ;;
    orthanc) start_orthanc "$d" ;;
  esac
  local cpu0 t0 t1 cpu1 rss rc=0 m0 m1 s0 s1 c0 c1 sampler="" k r failed="" left=""
  local pids=()
  [ "$server_forks" -eq 0 ] || { rss_sampler "$server_pid" "$d/rss-peak" & sampler=$!; }
  cpu0=$(server_cpu_ms "$server_pid"); m0=$(machine_ms busy); s0=$(machine_ms steal); c0=$(children_ms)
  t0=$(date +%s%N)
  if [ "$parallel" -eq 1 ]; then
    storescu -aet BENCH -aec "$aec" +sd +r 127.0.0.1 "$port" "$study" > "$d/storescu.log" 2>&1 || rc=$?
  else
    # One association per group, all started at once; the clock stops when
    # the last one has ended. Every exit status is collected before any is
    # judged, so that no storescu is left running.
    for ((k = 0; k < parallel; k++)); do
      (cd "$study" && exec storescu -aet BENCH -aec "$aec" +sd +r 127.0.0.1 "$port" \
        "${files[@]:group_start[k]:group_start[k + 1] - group_start[k]}") > "$d/storescu-$k.log" 2>&1 &
      pids+=($!)
    done
    for k in "${!pids[@]}"; do
      r=0; wait "${pids[k]}" || r=$?
      if [ "$r" -ne 0 ] && [ -z "$failed" ]; then rc=$r; failed=$k; fi
    done
  fi
  t1=$(date +%s%N)
  if [ "$server_forks" -eq 0 ]; then
    cpu1=$(server_cpu_ms "$server_pid"); m1=$(machine_ms busy); s1=$(machine_ms steal); c1=$(children_ms)
  else
    # The machine's figures are for the send only; the association processes
    # exit just after their release: their CPU time is final once they have.
    m1=$(machine_ms busy); s1=$(machine_ms steal)
    for _ in $(seq 1 100); do
      left="$(running_children_of "$server_pid")"
      if [ -z "$left" ]; then break; fi
      sleep 0.1
    done
    [ -z "$left" ] || log "warning: $peer: association process(es) ${left% } still running 10 s after the send"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    cpu1=$(server_cpu_ms "$server_pid"); c1=$(children_ms)
  fi
  rss=$(hwm_kb "$server_pid")
  if [ -s "$d/rss-peak" ] && [ "$(cat "$d/rss-peak")" -gt "$rss" ]; then rss=$(cat "$d/rss-peak"); fi
  local stored; stored=$(stored_count "$peer" "$d")
  stop_pid "$server_pid"; server_pid=""
  if [ "$parallel" -eq 1 ]; then
    [ "$rc" -eq 0 ] || die "$peer: storescu exited $rc: $(tail -n 5 "$d/storescu.log")"
  else
    [ "$rc" -eq 0 ] || die "$peer: storescu $failed of $parallel (files $((group_start[failed] + 1))..${group_start[failed + 1]}) exited $rc: $(tail -n 5 "$d/storescu-$failed.log")"
  fi
  [ "$stored" -eq "$images" ] || die "$peer: $stored of $images images stored (see $d)"
  local wall_ms=$(( (t1 - t0) / 1000000 ))
  # What else used the CPUs during the send: the machine's busy time less the
  # receiver's and storescu's, as a share of all CPUs over the wall time. It
  # includes kernel threads working for the receiver (journal commits,
  # write-back), so a few percent is normal; more means another job ran.
  local ncpu other steal
  ncpu=$(nproc)
  other=$(( (m1 - m0 - (cpu1 - cpu0) - (c1 - c0)) * 100 / (wall_ms * ncpu) ))
  [ "$other" -ge 0 ] || other=0
  steal=$(( (s1 - s0) * 100 / (wall_ms * ncpu) ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$round" "$wall_ms" "$images" "$bytes" \
    "$((cpu1 - cpu0))" "$rss" "$busy" "$other" "$steal" "$parallel" >> "$results"
  log "$(printf 'round %s %-10s %6d ms  %7.1f images/s  server CPU %5d ms  RSS %6d kB  (machine %s%% busy before, others %s%% and steal %s%% during)' \
    "$round" "$peer" "$wall_ms" "$(awk -v n="$images" -v ms="$wall_ms" 'BEGIN { print n * 1000 / ms }')" \
    "$((cpu1 - cpu0))" "$rss" "$busy" "$other" "$steal")"
  [ "$other" -le "$other_max" ] ||
    log "warning: other work used $other% of the CPUs during this send: this run is not on an idle machine"
  rm -rf "$d" "/dev/shm/sealport-bench-$$"
}

# The disk's own latency for what sealportd asks of it per object: fsync of a
# new file of the study's average size, fsync of its directory after the
# rename, and fdatasync of a small append (a WAL commit).
fsync_probe() {
  /usr/bin/python3 - "$work/fsync-probe" 300 "$((bytes / images))" <<'PY'
import os, statistics, sys, time
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d, exist_ok=True)
data, page = os.urandom(size), os.urandom(12288)
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
wal = os.open(os.path.join(d, "wal"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
t = {"file": [], "dir": [], "wal": []}
for i in range(n):
    tmp, fin = os.path.join(d, ".%d.tmp" % i), os.path.join(d, str(i))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    a = time.perf_counter(); os.fsync(fd); t["file"].append(time.perf_counter() - a)
    os.close(fd); os.rename(tmp, fin)
    a = time.perf_counter(); os.fsync(dfd); t["dir"].append(time.perf_counter() - a)
    os.write(wal, page)
    a = time.perf_counter(); os.fdatasync(wal); t["wal"].append(time.perf_counter() - a)
med = {k: statistics.median(v) * 1e3 for k, v in t.items()}
print("fsync latency of this disk (median of %d): new %d-byte file %.2f ms, its directory %.2f ms, "
      "12 KiB append fdatasync %.2f ms; sum %.2f ms per object"
      % (n, size, med["file"], med["dir"], med["wal"], sum(med.values())))
PY
  rm -rf "$work/fsync-probe"
}
sync
# The probe, too, waits for a quiet machine: another job's writes share the
# disk's journal and would inflate every fsync.
probe_busy=$(wait_quiet)
probe="$(fsync_probe 2>/dev/null || echo "fsync latency: not measured (/usr/bin/python3 missing)")"
probe="$probe (machine $probe_busy% busy before)"
log "$probe"

log "$images images, $bytes bytes ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB), $runs rounds: $peers"
for round in $(seq 1 "$runs"); do
  for peer in $peers; do run_one "$peer" "$round"; done
done

# --- summary ---------------------------------------------------------------

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
  echo "work dir: $work ($(df -T "$work" | awk 'NR == 2 { print $2 " on " $1 }'))"
  echo "sealportd: $build ($build_type; sources $src_dir, $src_rev); $(storescu --version | head -n1 | tr -d '$'); $(command -v Orthanc >/dev/null && Orthanc --version | head -n1)"
  echo "study: $images CT images ${size}, 16-bit, explicit VR little endian, $bytes bytes; median of $runs runs"
  if [ "$parallel" -eq 1 ]; then
    echo "parallelism: 1 (one storescu, one association, the whole study)"
  else
    sizes=$((images / parallel))
    [ $((images % parallel)) -eq 0 ] || sizes="$sizes-$((sizes + 1))"
    echo "parallelism: $parallel (storescu processes at once, one association each; the files in instance order split into $parallel contiguous groups of $sizes; wall time from the first start to the last end; storescp with --fork; Orthanc with DicomThreadsCount $(( parallel > 4 ? parallel : 4 )))"
  fi
  echo "$probe"
  echo
  awk -F'\t' -v n="$images" -v b="$bytes" -v order="$peers" -v par="$parallel" '
    NR == 1 { next }
    { wall[$1] = wall[$1] " " $3; cpu[$1] = cpu[$1] " " $6; rss[$1] = rss[$1] " " $7 }
    function median(list,   a, k, i, j, t) {
      k = split(list, a, " ")
      for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END {
      np = split(order, peers, " ")
      for (p = 1; p <= np; p++) { w[peers[p]] = median(wall[peers[p]]) }
      printf "| peer (%s) | wall (median) | images/s | MB/s | sealportd ÷ peer | server CPU per image | peak RSS |\n",
        par == 1 ? "1 association" : par " associations at once"
      print "|---|---|---|---|---|---|---|"
      for (p = 1; p <= np; p++) {
        q = peers[p]
        ratio = ("sealportd" in w) ? sprintf("%.2f×", w[q] / w["sealportd"]) : "-"
        if (q == "sealportd") ratio = "1"
        printf "| %s | %.2f s | %.0f | %.1f | %s | %.2f ms | %.0f MiB |\n", q, w[q] / 1000, n * 1000 / w[q],
          b / 1e3 / w[q], ratio, median(cpu[q]) / n, median(rss[q]) / 1024
      }
    }' "$results"
  awk -F'\t' -v q="$quiet_pct" -v om="$other_max" 'NR > 1 {
      if ($8 + 0 > b) b = $8 + 0; if ($9 + 0 > o) o = $9 + 0; if ($10 + 0 > s) s = $10 + 0
      if ($8 + 0 > q || $9 + 0 > om) { n++; which = which " " $1 "/" $2 } }
    END { printf "\nmachine load: before each run at most %d%% busy (threshold %d%%); during the sends, other work at most %d%% (threshold %d%%) and steal at most %d%% of the CPUs; %s\n",
      b, q, o, om, s, n ? n " run(s) NOT on an idle machine:" which : "every run on an idle machine" }' "$results"
  echo
  echo "MB = 10^6 bytes of Part 10 files. sealportd ÷ peer: the ratio of throughputs (peer wall ÷ sealportd wall);"
  echo "above 1 means sealportd is faster. Server CPU: user + system time of the server process during the send."
  [ "$parallel" -eq 1 ] ||
    echo "storescp --fork: server CPU and peak RSS include its association processes (RSS: the peak of their sum, sampled every 0.2 s)."
} | tee "$work/results.md"
