//! Day 2 on the fleet, growing and shrinking: the doubles' answers to `move-leader` and
//! `drain`, and a member's own `endpoint status` (the move-leader step asks it whether it
//! leads). Texts as the real tools print them: etcdctl's `Leadership transferred from %s
//! to %s` (its simple printer), `endpoint status -w json` (the same objects as with
//! `--cluster`), kubectl drain's `node/NAME cordoned` and `node/NAME drained`. Who leads is
//! the `leader` of the members' status files ([`Site::leads`]).

use super::{Site, member_id, write};

/// Handled before the replacement's and the build's cases.
pub const KUBECTL: &str = r#"
case "$*" in
*' endpoint status -w json')
  pod=$(echo "$*" | sed 's/.* exec etcd-\([^ ]*\) .*/\1/')
  if [ ! -f "$S/status/$pod.json" ]; then
    echo "{\"level\":\"warn\",\"msg\":\"failed to get the status of endpoint https://127.0.0.1:2379\"}" >&2
    echo 'Error: context deadline exceeded' >&2; exit 1
  fi
  printf '['; /bin/cat "$S/status/$pod.json"; printf ']\n'
  exit 0 ;;
*' move-leader '*)
  for a in "$@"; do to=$a; done
  lead=$(sed -nE 's/.*"leader":([0-9]+).*/\1/p' "$S/status/"*.json | head -n 1)
  for f in "$S/prepared/dec-"*; do
    if [ "$(/bin/cat "$f")" = "$lead" ]; then from=$(/bin/cat "$S/prepared/id-${f##*/dec-}"); fi
  done
  for f in "$S/prepared/id-"*; do
    if [ "$(/bin/cat "$f")" = "$to" ]; then n=${f##*/id-}; fi
  done
  new=$(/bin/cat "$S/prepared/dec-$n")
  for f in "$S/status/"*.json; do sed -i -E "s/\"leader\":[0-9]+/\"leader\":$new/" "$f"; done
  echo "Leadership transferred from $from to $to"
  exit 0 ;;
*' drain '*)
  n=$(echo "$*" | sed 's/.* drain \([^ ]*\).*/\1/')
  echo "node/$n cordoned"; echo "node/$n drained"
  exit 0 ;;
esac"#;

impl Site {
    /// The cluster built on every master of the fleet (all voters answering, every node
    /// Ready), but for `bare`: machines made ready to join, nothing initialised.
    pub fn built_but(&self, bare: &[&str]) {
        // No master dead: `built_with_dead` of a name no host has.
        self.built_with_dead("");
        let st = &self.state;
        for (name, addr, master) in &self.fleet.hosts {
            if *master {
                let i = self.fleet.hosts.iter().position(|h| h.0 == *name).unwrap();
                write(
                    &st.join(format!("prepared/dec-{name}")),
                    member_id(i).to_string(),
                );
            }
            if bare.contains(name) {
                for f in [
                    format!("members/{name}.json"),
                    format!("status/{name}.json"),
                    format!("admin/{name}"),
                    format!("apiserver/{addr}"),
                    format!("objects/node-{name}.json"),
                ] {
                    let _ = std::fs::remove_file(st.join(f));
                }
            }
        }
    }

    /// `name`'s member leads: every member's status says so.
    pub fn leads(&self, name: &str) {
        let i = self.fleet.hosts.iter().position(|h| h.0 == name).unwrap();
        let id = member_id(i).to_string();
        for dir in ["status", "prepared"] {
            for entry in std::fs::read_dir(self.state.join(dir)).unwrap() {
                let f = entry.unwrap().path();
                let file = f.file_name().unwrap().to_string_lossy().into_owned();
                if dir == "prepared" && !file.starts_with("status-") || !file.ends_with(".json") {
                    continue;
                }
                let text = std::fs::read_to_string(&f).unwrap();
                let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
                v["Status"]["leader"] = serde_json::json!(id.parse::<u64>().unwrap());
                write(&f, serde_json::to_string(&v).unwrap());
            }
        }
    }

    /// The node `name` whose member leads now, as the status files say.
    pub fn leader(&self) -> String {
        let f = self.state.join("status");
        let any = std::fs::read_dir(&f)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(any).unwrap()).unwrap();
        let id = v["Status"]["leader"].as_u64().unwrap();
        let i = (0..self.fleet.hosts.len())
            .find(|&i| member_id(i) == id)
            .unwrap();
        self.fleet.hosts[i].0.to_string()
    }

    /// `hatui wizard --inventory FILE` with `args` (no `--yes` added).
    pub fn wizard_run(&self, args: &[&str]) -> std::process::Output {
        super::finish(self.wizard_start(args))
    }

    pub fn wizard_start(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_hatui"))
            .args(["wizard", "--inventory"])
            .arg(&self.inventory)
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
