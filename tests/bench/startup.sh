#!/usr/bin/env bash
# The real release binary in a real terminal (tmux): time from starting `hatui lab` with
# 5,000 workers to its first frame on screen, and its peak RSS.
# Usage: cargo build --release && bash tests/bench/startup.sh
set -euo pipefail
bin=${1:-$(dirname "$0")/../../target/release/hatui}
sock=hatui-startup-$$
trap 'tmux -L $sock kill-server 2>/dev/null || true' EXIT
tmux -L "$sock" -f /dev/null new-session -d -s m -x 160 -y 50
sleep 0.3
for run in 1 2 3 4 5; do
  start=$(date +%s%N)
  tmux -L "$sock" new-window -t m -n "w$run" "$bin lab --workers 5000 --seed $run"
  until tmux -L "$sock" capture-pane -p -t "m:w$run" | grep -q "simulated cluster"; do :; done
  end=$(date +%s%N)
  echo "run $run: first frame after $(( (end - start) / 1000000 )) ms"
  if [ "$run" = 5 ]; then
    sleep 5
    pid=$(tmux -L "$sock" display-message -p -t "m:w$run" '#{pane_pid}')
    grep VmHWM "/proc/$pid/status"
  fi
  tmux -L "$sock" send-keys -t "m:w$run" q
done
start=$(date +%s%N)
tmux -L "$sock" new-window -t m -n base true
echo "tmux new-window alone (overhead included above): $(( ($(date +%s%N) - start) / 1000000 )) ms"
