//! Day 2 on the fleet: a built cluster whose master lost power for good, and the doubles'
//! answers to the replacement's commands. Texts as the real tools print them:
//! etcdctl's `member list` simple printer, `Member %16x removed from cluster %16x` and
//! `Snapshot saved at %s` (etcd-io/etcd etcdctl), kubectl's `node "x" deleted`, kubeadm's
//! `bootstrap token "x" deleted` and its reset lines.

use std::path::Path;

use ring::digest::{SHA256, digest};
use serde_json::json;

use super::{Site, write, write_json};

/// Handled before the build's cases; anything else falls through to them.
pub const KUBEADM: &str = r#"
case "$*" in
reset*)
  if [ -f "$S/hold/reset-$HOST" ]; then sleep "$(/bin/cat "$S/hold/reset-$HOST")"; fi
  /bin/rm -rf "$S/root/$HOST/etc/kubernetes"; /bin/rm -f "$S/admin/$HOST"
  /bin/cat "$S/texts/reset.txt"
  exit 0 ;;
'token delete'*)
  shift 2
  for t in "$@"; do
    id=${t%%.*}; f=$(grep -l "\"bootstrap-token-$id\"" "$S/objects/"*.json 2>/dev/null)
    if [ -z "$f" ]; then
      echo "error: failed to delete bootstrap token \"$id\": secrets \"bootstrap-token-$id\" not found" >&2
      exit 1
    fi
    /bin/rm -f $f
    echo "bootstrap token \"$id\" deleted"
  done
  exit 0 ;;
'token create'*--description*)
  for a in "$@"; do d=$a; done
  d=$(printf %s "$d" | /bin/base64 -w0)
  for f in "$S/prepared/token-create/"*.json; do
    /bin/sed "s/\"description\":\"\"/\"description\":\"$d\"/" "$f" > "$S/objects/$(basename "$f")"
  done
  /bin/cat "$S/texts/token-create.txt"
  exit 0 ;;
esac"#;

/// Handled before the build's cases; anything else falls through to them. A host with
/// `$S/no-kubectl/$HOST` has none (a machine racked, nothing installed yet).
pub const KUBECTL: &str = r#"
if [ -f "$S/no-kubectl/$HOST" ]; then echo 'sh: 1: kubectl: not found' >&2; exit 127; fi
case "$*" in
*' snapshot save '*)
  for a in "$@"; do f=$a; done
  /bin/mkdir -p "$S/root/$HOST$(dirname "$f")"
  /bin/cp "$S/prepared/snapshot.db" "$S/root/$HOST$f"
  echo "Snapshot saved at $f"
  exit 0 ;;
*' member list')
  for f in "$S/members/"*.json; do
    [ -f "$f" ] && /bin/cat "$S/prepared/line-$(basename "$f" .json)"
  done
  exit 0 ;;
*' member remove '*)
  for a in "$@"; do id=$a; done
  for f in "$S/members/"*.json; do
    n=$(basename "$f" .json)
    if [ "$(/bin/cat "$S/prepared/id-$n")" = "$id" ]; then
      /bin/rm -f "$f" "$S/status/$n.json"
      printf 'Member %16s removed from cluster %16s\n' "$id" cdf818194e3a8c32
      exit 0
    fi
  done
  echo "Error: etcdserver: member not found" >&2
  exit 1 ;;
*' delete node '*)
  n=$(echo "$*" | sed 's/.* delete node \([^ ]*\).*/\1/')
  if [ -f "$S/objects/node-$n.json" ]; then /bin/rm -f "$S/objects/node-$n.json"; echo "node \"$n\" deleted"; fi
  exit 0 ;;
*'delete secret kubeadm-certs'*)
  # Held: the command never completes (as a run killed during it), decided at its start.
  if [ -f "$S/hold/cleanup" ]; then sleep "$(/bin/cat "$S/hold/cleanup")"; exit 1; fi
  if [ -f "$S/objects/certs.json" ]; then /bin/rm -f "$S/objects/certs.json"; echo 'secret "kubeadm-certs" deleted'; fi
  exit 0 ;;
esac"#;

/// `kubeadm reset -f` (kubeadm 1.29+, cmd/kubeadm/app/cmd/phases/reset), its first lines.
const RESET: &str = "[preflight] Running pre-flight checks
[reset] Deleted contents of the etcd data directory: /var/lib/etcd
[reset] Stopping the kubelet service
[reset] Unmounting mounted directories in \"/var/lib/kubelet\"
[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]
[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]

The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d
";

/// A bbolt-shaped database of `pages` 512-byte pages (its magic where bbolt has it),
/// followed by the SHA-256 etcd appends: what `etcdctl snapshot save` leaves.
pub fn snapshot_bytes(pages: usize) -> Vec<u8> {
    let mut db: Vec<u8> = (0..pages * 512).map(|i| (i * 7 % 251) as u8).collect();
    db[16..20].copy_from_slice(&0xED0C_DAEDu32.to_le_bytes());
    let hash = digest(&SHA256, &db);
    db.extend_from_slice(hash.as_ref());
    db
}

impl Site {
    /// The cluster built (3 masters, 2 workers, Ready), then `dead` lost power for good and
    /// a fresh machine took its name and address: its member is listed but answers no
    /// status, its Node is Ready=Unknown, its apiserver is gone. Init's token and
    /// `kubeadm-certs` expired long ago.
    pub fn built_with_dead(&self, dead: &str) {
        let st = &self.state;
        let p = st.join("prepared");
        let copy = |from: &Path, to: &Path| {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(from, to).unwrap();
        };
        for entry in std::fs::read_dir(p.join("init")).unwrap() {
            let f = entry.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("lease-") || name == "kubeadm-config.json" {
                copy(&f, &st.join("objects").join(&name));
            }
        }
        for (name, addr, master) in &self.fleet.hosts {
            let node = st.join(format!("objects/node-{name}.json"));
            if *name == dead {
                let text = std::fs::read_to_string(p.join(format!("node-{name}.json"))).unwrap();
                let mut n: serde_json::Value = serde_json::from_str(&text).unwrap();
                for c in n["status"]["conditions"].as_array_mut().unwrap() {
                    if c["type"] == "Ready" {
                        c["status"] = json!("Unknown");
                        c["reason"] = json!("NodeStatusUnknown");
                        c["message"] = json!("Kubelet stopped posting node status.");
                    }
                }
                write_json(&node, &n);
            } else {
                copy(&p.join(format!("node-{name}-ready.json")), &node);
            }
            if !master {
                continue;
            }
            copy(
                &p.join(format!("member-{name}.json")),
                &st.join(format!("members/{name}.json")),
            );
            if *name != dead {
                copy(
                    &p.join(format!("status-{name}.json")),
                    &st.join(format!("status/{name}.json")),
                );
                write(&st.join(format!("admin/{name}")), "");
                write(&st.join(format!("apiserver/{addr}")), "");
            }
        }
        write(&st.join("texts/reset.txt"), RESET);
        write(&p.join("snapshot.db"), snapshot_bytes(8));
    }

    /// `name`'s etcd member answers again (its Node stays as it is).
    pub fn member_answers(&self, name: &str) {
        let p = self.state.join("prepared");
        std::fs::copy(
            p.join(format!("status-{name}.json")),
            self.state.join(format!("status/{name}.json")),
        )
        .unwrap();
    }

    /// `name`'s etcd member stops answering (its host is down).
    pub fn member_down(&self, name: &str) {
        let _ = std::fs::remove_file(self.state.join(format!("status/{name}.json")));
    }

    /// `name`'s entry gains `previous_address = "ADDRESS"`.
    pub fn previous_address(&self, name: &str, address: &str) {
        let text = std::fs::read_to_string(&self.inventory).unwrap();
        let at = format!("name = \"{name}\"\n");
        let text = text.replacen(&at, &format!("{at}previous_address = \"{address}\"\n"), 1);
        write(&self.inventory, text);
    }

    /// The snapshots the wizard wrote on the bastion.
    pub fn snapshots(&self) -> Vec<std::path::PathBuf> {
        let dir = self.dir.path().join("xdg/hatui/snapshots");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut v: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    }

    /// `hatui wizard --inventory FILE --replace NODE` with `args` (no `--yes` added).
    pub fn replace_run(&self, node: &str, args: &[&str]) -> std::process::Output {
        super::finish(self.replace_start(node, args))
    }

    pub fn replace_start(&self, node: &str, args: &[&str]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_hatui"))
            .args(["wizard", "--inventory"])
            .arg(&self.inventory)
            .args(["--replace", node])
            .args(args)
            .env("XDG_STATE_HOME", self.dir.path().join("xdg"))
            .env("HOME", self.home())
            .env("NO_COLOR", "1")
            .env_remove("RUST_BACKTRACE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run hatui")
    }
}
