#!/usr/bin/env bash
# The one test command (README, and .ci/run calls it): installs what the tests need when
# it is missing, then runs every check that gates main.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."

# Debian packages the builds and tests need for real: tmux runs the real binary in a real
# terminal; etcd, openssl (its certificates), sshd, ssh-keygen,
# ssh-keyscan and sudo (`sudo -n cat` of the certificates) run the etcd and SSH tests;
# etcdctl (Debian etcd-client) is what the tests' etcd pods run under `kubectl exec`.
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server) # where the tests and --real-etcd look: PATH
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keyscan >/dev/null 2>&1 || need+=(openssh-client)
command -v sudo >/dev/null 2>&1 || need+=(sudo)
# The wizard's rendered files under their own tools' checks (haproxy -c, keepalived -t)
# and its scripts (the dry-run script, the keepalived check script) under shellcheck.
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v keepalived >/dev/null 2>&1 || need+=(keepalived)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# man renders the man page the tests check (`hatui man`).
command -v man >/dev/null 2>&1 || need+=(man-db)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "tests need: ${need[*]} (Debian: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
fi

# Builds with nothing but Rust (.cargo/config.toml): the rest of this script runs again in a
# private mount namespace (nothing changes outside it) where any system protoc and protobuf
# includes are hidden, so the build of etcd-client, the one crate that runs protoc, proves it
# needs none: on a fresh clone (CI) its build script runs here.
if [ -z "${HATUI_PROTOC_HIDDEN:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "tests/run.sh runs as root: it hides the system protoc with unshare -m" >&2; exit 1; }
  exec env -u PROTOC -u PROTOC_INCLUDE HATUI_PROTOC_HIDDEN=1 unshare -m bash "$self" "$@"
fi
[ ! -e /usr/bin/protoc ] || mount --bind /dev/null /usr/bin/protoc
[ ! -d /usr/include/google ] || mount -t tmpfs none /usr/include/google
if protoc --version >/dev/null 2>&1; then
  echo "a protoc still runs: $(command -v protoc); cannot prove the build needs none" >&2
  exit 1
fi
cargo fmt --all --check
started=$(mktemp)
# One build serves clippy and the tests: clippy-driver compiles the workspace's own crates
# (their code, and their lints with -D warnings), so the dependencies are built once instead
# of checked for `cargo clippy` and then built for `cargo test`. CLIPPY_ARGS is how `cargo
# clippy` itself hands clippy-driver its flags: the probe proves they still take effect.
clippy_driver=$(command -v clippy-driver) || {
  echo "clippy-driver not found (rustup component add clippy)" >&2
  exit 1
}
export RUSTC_WORKSPACE_WRAPPER=$clippy_driver
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
probe=$(mktemp -d)
printf 'fn main() {\n    let x = 1u32;\n    let _ = x.clone();\n}\n' >"$probe/probe.rs"
if "$clippy_driver" --edition 2024 -o "$probe/probe" "$probe/probe.rs" 2>/dev/null; then
  echo "clippy-driver let a warning pass with CLIPPY_ARGS=$CLIPPY_ARGS:" \
    "run cargo clippy --workspace --all-targets -- -D warnings instead" >&2
  exit 1
fi
rm -rf "$probe"
# --all-targets also runs the benchmarks once each, as tests, so they cannot rot.
log=$(mktemp)
trap 'rm -f "$log" "$started"' EXIT
# Every process the tests start inherits this mark, so what is left afterwards is found
# by it (and only it: other etcds or sshds on the machine are not ours).
HATUI_TEST_RUN="run-$$-$(date +%s)"
export HATUI_TEST_RUN
# Four test threads on two cores: most tests wait on real processes (etcd elections, sshds,
# tmux), not on the CPU; what must not run at once is grouped in the tests themselves.
RUST_TEST_THREADS=4 cargo test --locked --workspace --all-targets 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
if find target/debug/build -path '*/etcd-client-*/output' -newer "$started" | grep -q .; then
  echo "etcd-client was built here with no system protoc"
else
  echo "etcd-client was built before this run (a fresh clone builds it here, with no system protoc)"
fi

# The tests stop what they start, and this proves it: no etcd, sshd, ssh-agent, tmux
# server, hatui, haproxy or keepalived with the run's mark may outlive the run.
left_behind() {
  local e pid comm
  for e in /proc/[0-9]*/environ; do
    pid=${e#/proc/}
    pid=${pid%/environ}
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    [[ $comm =~ ^(etcd|sshd|ssh-agent|tmux.*|hatui|haproxy|keepalived)$ ]] || continue
    if tr '\0' '\n' 2>/dev/null <"$e" | grep -qx "HATUI_TEST_RUN=$HATUI_TEST_RUN"; then
      echo "$pid $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")"
    fi
  done
}
for _ in $(seq 20); do
  left=$(left_behind)
  [ -n "$left" ] || break
  sleep 0.5
done
if [ -n "$left" ]; then
  echo "the tests left these running (now killed):" >&2
  echo "$left" >&2
  echo "$left" | awk '{ print $1 }' | xargs -r kill -KILL 2>/dev/null || true
  exit 1
fi
echo "nothing the tests started is left running"
