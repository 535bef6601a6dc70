#!/usr/bin/env bash
# The one test command (README, and .ci/run calls it): installs what the tests need when
# it is missing, then runs every check that gates main.
set -euo pipefail
cd "$(dirname "$0")/.."

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
# The wizard's rendered files under their own tools' checks: haproxy -c, keepalived -t,
# shellcheck (the dry-run script and the keepalived check script).
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v keepalived >/dev/null 2>&1 || need+=(keepalived)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
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

cargo fmt --check

# Builds with nothing but Rust (.cargo/config.toml): etcd-client, the one crate that runs
# protoc, builds in a target directory of its own with any system protoc and protobuf
# includes hidden (a private mount namespace, so nothing changes outside this command).
env -u PROTOC -u PROTOC_INCLUDE unshare -m bash -euo pipefail -c '
  [ ! -e /usr/bin/protoc ] || mount --bind /dev/null /usr/bin/protoc
  [ ! -d /usr/include/google ] || mount -t tmpfs none /usr/include/google
  if protoc --version >/dev/null 2>&1; then
    echo "a protoc still runs: $(command -v protoc); cannot prove the build needs none" >&2
    exit 1
  fi
  cargo build --locked --quiet -p etcd-client --target-dir target/without-protoc
' || { echo "the build without a system protoc failed (unshare -m needs root)" >&2; exit 1; }
echo "etcd-client builds without a system protoc"
cargo clippy --locked --all-targets -- -D warnings
# --all-targets also runs the benchmarks once each, as tests, so they cannot rot.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked --all-targets 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
