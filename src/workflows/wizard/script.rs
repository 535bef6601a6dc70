//! `hatui wizard --inventory FILE --dry-run`: the plan as a bash script an operator could
//! run by hand from the bastion. Each step runs over `ssh` in order and waits where the
//! wizard waits. The token and certificate key are captured from kubeadm's output into
//! shell variables when the script runs: they are never in the script, and the output it
//! shows is redacted.

use std::fmt::Write;

use super::command::{Command, Part, Var};
use super::plan::{ADMIN_CONF, Plan, Step, StepKind, Wait, etcdctl};
use hatui_fleet::inventory::{Bastion, Inventory};
use hatui_fleet::ssh::shell_quote;

/// The whole script.
pub fn render(inv: &Inventory, plan: &Plan, source: &str) -> String {
    let first = inv.first_control_plane().name.clone();
    let what = format!("build the cluster \"{}\"", inv.name);
    let mut out = body(inv, plan, source, &what, &first);
    out.push_str("\necho \"==> done: the cluster is built and verified\"\n");
    out
}

/// The replacement of master `node` (`--replace NODE --dry-run`): its commands through
/// `through`, a master whose etcd member must answer when the script runs.
pub fn render_replace(
    inv: &Inventory,
    plan: &Plan,
    source: &str,
    node: &str,
    through: &str,
) -> String {
    let what = format!(
        "replace the dead master {node} of \"{}\" (through {through}: the first other master; \
         edit FIRST below to go through another whose etcd member answers)",
        inv.name
    );
    let mut out = body(inv, plan, source, &what, through);
    let _ = writeln!(
        out,
        "\necho \"==> done: {node} is replaced and the cluster verified\""
    );
    out
}

/// A day-2 plan (`--add`/`--remove --dry-run`): `what` in the header, its commands
/// through `through`, `done` said at the end.
pub fn render_day2(
    inv: &Inventory,
    plan: &Plan,
    source: &str,
    what: &str,
    through: &str,
    done: &str,
) -> String {
    let mut out = body(inv, plan, source, what, through);
    let _ = writeln!(out, "\necho {}", shell_quote(done));
    out
}

fn body(inv: &Inventory, plan: &Plan, source: &str, what: &str, first: &str) -> String {
    let mut out = String::new();
    header(&mut out, inv, plan, source, what);
    helpers(&mut out, inv, first);
    let total = plan.steps.len();
    let mut i = 0;
    while i < total {
        let s = &plan.steps[i];
        match &s.parallel_group {
            Some(group) => {
                let n = plan.steps[i..]
                    .iter()
                    .take_while(|t| t.parallel_group.as_ref() == Some(group))
                    .count();
                parallel(&mut out, inv, &plan.steps[i..i + n], i + 1, total);
                i += n;
            }
            None => {
                sequential(&mut out, inv, s, i + 1, total);
                i += 1;
            }
        }
    }
    out
}

fn header(out: &mut String, inv: &Inventory, plan: &Plan, source: &str, what: &str) {
    let cps = inv.control_planes().count();
    let ws = inv.workers().count();
    let _ = writeln!(out, "#!/usr/bin/env bash");
    let _ = writeln!(
        out,
        "# hatui wizard --dry-run, from {source}: cluster \"{}\", {cps} control plane(s) and {ws} worker(s) behind {}.",
        inv.name, inv.endpoint
    );
    let _ = writeln!(out, "# What it does: {what}.");
    out.push_str(
        "# Run it from the bastion: each step goes over ssh to its hosts, in order, and the\n\
         # script waits where the wizard waits. The join token and the certificate key are\n\
         # captured from kubeadm's output into shell variables as it runs: they are not written\n\
         # here, and what it prints has them replaced by <hidden>. (They do appear on the\n\
         # remote command lines, as with any kubeadm join.)\n",
    );
    for w in &plan.warnings {
        let _ = writeln!(out, "# WARNING: {w}");
    }
    out.push_str("#\n# Steps:\n");
    for (n, s) in plan.steps.iter().enumerate() {
        let _ = writeln!(out, "#   {}. {} ({})", n + 1, s.id, s.hosts.join(", "));
    }
    out.push_str("\nset -euo pipefail\n\n");
}

/// `ssh OPTS -p PORT -W "[%h]:%p" user@jump`, quoted only where a word needs it, so the
/// line stays readable inside its own quotes.
fn proxy_command(opts: &[String], b: &Bastion) -> String {
    let plain = |w: &str| {
        w.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&c))
    };
    let word = |w: &str| {
        if plain(w) {
            w.to_string()
        } else {
            shell_quote(w)
        }
    };
    let mut cmd = vec!["ssh".to_string()];
    cmd.extend(opts.iter().map(|o| word(o)));
    cmd.extend(["-p".into(), b.port.to_string(), "-W".into()]);
    cmd.push("\"[%h]:%p\"".into());
    cmd.push(word(&format!("{}@{}", b.user, b.host)));
    cmd.join(" ")
}

fn helpers(out: &mut String, inv: &Inventory, first: &str) {
    // The old machines of replaced masters are hosts of their own (their reset).
    let previous: Vec<_> = inv.previous_hosts().collect();
    let mut opts = vec!["-o".to_string(), "BatchMode=yes".to_string()];
    if let Some(id) = &inv.ssh.identity {
        opts.extend(["-i".into(), id.clone()]);
    }
    if let Some(kh) = &inv.ssh.known_hosts {
        opts.extend(["-o".into(), format!("UserKnownHostsFile={kh}")]);
    }
    let quoted: Vec<String> = opts.iter().map(|o| shell_quote(o)).collect();
    let _ = writeln!(out, "SSH_OPTS=({})", quoted.join(" "));
    let proxies: Vec<String> = inv
        .reachable()
        .chain(&previous)
        .filter_map(|h| {
            let proxy = proxy_command(&opts, h.bastion.as_ref()?);
            Some(format!("[{}]={}", h.name, shell_quote(&proxy)))
        })
        .collect();
    if !proxies.is_empty() {
        let _ = writeln!(out, "declare -A SSH_PROXY=({})", proxies.join(" "));
    }
    let entries = |f: &dyn Fn(&hatui_fleet::inventory::Host) -> String| {
        inv.reachable()
            .chain(&previous)
            .map(|h| format!("[{}]={}", h.name, shell_quote(&f(h))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(
        out,
        "declare -A ADDRESS=({})",
        entries(&|h| h.address.clone())
    );
    let _ = writeln!(
        out,
        "declare -A SSH_USER=({})",
        entries(&|h| h.user.clone().unwrap_or_else(|| inv.ssh.user.clone()))
    );
    let _ = writeln!(
        out,
        "declare -A SSH_PORT=({})",
        entries(&|h| h.port.unwrap_or(inv.ssh.port).to_string())
    );
    let sudo = if inv.ssh.sudo { "sudo -n " } else { "" };
    let kubectl = format!("{sudo}kubectl --kubeconfig {ADMIN_CONF}");
    let members = format!("{sudo}{}", etcdctl(first, "member list"));
    // Hosts behind a jump host: a ProxyCommand rather than `-J`, whose jump connection
    // would not get SSH_OPTS (the identity and known_hosts).
    let proxy = if inv.reachable().any(|h| h.bastion.is_some()) {
        r#" ${SSH_PROXY[$host]:+-o "ProxyCommand=${SSH_PROXY[$host]}"}"#
    } else {
        ""
    };
    // Root through sudo: the whole command one `sh -c` argument, as the SSH executor runs
    // it, so sudo covers every part of a compound command (`a && b`), not the first.
    let as_root = if inv.ssh.sudo {
        r#"
# as_root HOST 'COMMAND': runs all of COMMAND on HOST as root: sudo -n sh -c 'COMMAND'.
as_root() {
  local host=$1 cmd=$2 q="'\\''"
  cmd=${cmd//\'/"$q"}
  on "$host" "sudo -n sh -c '$cmd'"
}
"#
    } else {
        ""
    };
    let _ = write!(
        out,
        r#"FIRST={first}

# on HOST 'COMMAND': runs COMMAND on HOST over ssh.
on() {{
  local host=$1
  shift
  ssh "${{SSH_OPTS[@]}}"{proxy} -p "${{SSH_PORT[$host]}}" "${{SSH_USER[$host]}}@${{ADDRESS[$host]}}" "$@"
}}
{as_root}
# Hides token secrets and certificate keys in what is shown.
redact() {{
  sed -E -e 's/([a-z0-9]{{6}})\.[a-z0-9]{{16}}/\1.<hidden>/g' \
    -e 's/(--certificate-key )[0-9a-f]{{64}}/\1<hidden>/g' -e 's/^[0-9a-f]{{64}}$/<hidden>/'
}}

# wait_for WHAT CHECK...: runs CHECK every 5 s until it succeeds (10 minutes at most).
wait_for() {{
  local what=$1 tries=0
  shift
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 120 ]; then
      echo "error: gave up waiting: $what" >&2
      exit 1
    fi
    echo "    waiting: $what"
    sleep 5
  done
  echo "    ok: $what"
}}

endpoint_ready() {{
  [ "$(on "$FIRST" "{kubectl} get --raw /readyz")" = ok ]
}}

node_ready() {{
  [ "$(on "$FIRST" "{kubectl} get node $1 -o 'jsonpath={{.status.conditions[?(@.type==\"Ready\")].status}}'")" = True ]
}}

# A member line of `etcdctl member list`: ID, status, name, peer URLs, client URLs, is learner.
etcd_voter() {{
  on "$FIRST" "{members}" | grep -Eq "^[0-9a-f]+, started, $1, .*, false$"
}}

# capture_flag PATTERN: the value kubeadm printed after a flag, from $OUT.
capture_flag() {{
  printf '%s\n' "$OUT" | grep -oE -- "$1" | head -n 1 | cut -d ' ' -f 2
}}

"#
    );
}

fn banner(out: &mut String, s: &Step, n: usize, total: usize) {
    let _ = writeln!(
        out,
        "\n# ---- step {n}/{total}: {} ({}) ----",
        s.id,
        s.hosts.join(", ")
    );
    for line in wrap(&s.why, 88) {
        let _ = writeln!(out, "# {line}");
    }
    for note in &s.notes {
        let _ = writeln!(out, "# Note: {note}");
    }
    let _ = writeln!(
        out,
        "echo {}",
        shell_quote(&format!("==> {}: {}", s.id, s.hosts.join(", ")))
    );
}

fn sequential(out: &mut String, inv: &Inventory, s: &Step, n: usize, total: usize) {
    banner(out, s, n, total);
    if s.commands.is_empty() {
        // Nothing hatui can run (the NLB's targets): what to do by hand, said as it runs.
        for note in &s.notes {
            let _ = writeln!(out, "echo {}", shell_quote(&format!("    by hand: {note}")));
        }
    }
    if s.kind == StepKind::Verify {
        waits(out, s);
    }
    for (i, c) in s.commands.iter().enumerate() {
        let run = remote(inv, c, s);
        if s.kind == StepKind::Reset {
            // An old machine that does not answer (ssh exits 255) is said and skipped.
            let _ = writeln!(
                out,
                "rc=0\n{run} 2>&1 | redact || rc=$?\nif [ \"$rc\" -eq 255 ]; then\n  echo {}\nelif [ \"$rc\" -ne 0 ]; then\n  exit \"$rc\"\nfi",
                shell_quote(&format!(
                    "    skipped: {} did not answer over ssh; if it comes back, run kubeadm reset -f on it first",
                    c.host
                ))
            );
            continue;
        }
        if let Some(file) = super::plan::day2_snapshot_saved(&c.shown()) {
            let _ = writeln!(out, "{run} 2>&1 | redact");
            to_bastion(out, inv, s, c, file);
            continue;
        }
        // kubeadm's output, the step's first command, holds what it captures; the rest
        // (the NLB's check, kube-vip's manifest) print nothing to capture.
        if s.captures.is_empty() || i > 0 {
            let _ = writeln!(out, "{run} 2>&1 | redact");
        } else {
            // Kept in $OUT (never shown unredacted) for the values kubeadm printed.
            let _ = writeln!(
                out,
                "OUT=$({run} 2>&1) || {{ printf '%s\\n' \"$OUT\" | redact; exit 1; }}"
            );
            out.push_str("printf '%s\\n' \"$OUT\" | redact\n");
            for v in &s.captures {
                capture(out, *v);
            }
        }
    }
    if s.kind != StepKind::Verify {
        waits(out, s);
    }
}

fn parallel(out: &mut String, inv: &Inventory, steps: &[Step], n: usize, total: usize) {
    for (k, s) in steps.iter().enumerate() {
        banner(out, s, n + k, total);
    }
    out.push_str("pids=()\n");
    for s in steps {
        for c in &s.commands {
            let _ = writeln!(
                out,
                "( {} 2>&1 | redact | sed 's/^/[{}] /' ) &\npids+=($!)",
                remote(inv, c, s),
                c.host
            );
        }
    }
    out.push_str("for pid in \"${pids[@]}\"; do wait \"$pid\"; done\n");
    for s in steps {
        waits(out, s);
    }
}

/// The snapshot `file` the master saved, copied to the bastion (0600, atomically), its
/// integrity checked (`hatui etcd snapshot --verify`: the trailing SHA-256; else etcdutl
/// opens it) before it takes its name.
fn to_bastion(out: &mut String, inv: &Inventory, s: &Step, c: &Command, file: &str) {
    let cat = Command::root(&c.host, format!("cat {file}"));
    let stem = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".db");
    let stem = stem.trim_start_matches("hatui-");
    let _ = write!(
        out,
        r#"SNAPSHOT="etcd-snapshot-{name}-{stem}-$(date -u +%Y%m%dT%H%M%SZ).db"
( umask 077 && {run} > "$SNAPSHOT.part" )
sync "$SNAPSHOT.part"
if command -v hatui >/dev/null 2>&1; then
  hatui etcd snapshot --verify "$SNAPSHOT.part"
elif command -v etcdutl >/dev/null 2>&1; then
  etcdutl snapshot status "$SNAPSHOT.part" -w table
fi
mv "$SNAPSHOT.part" "$SNAPSHOT"
echo "    snapshot on the bastion: $PWD/$SNAPSHOT (mode 0600)"
"#,
        name = inv.name,
        run = remote(inv, &cat, s),
    );
}

fn waits(out: &mut String, s: &Step) {
    for w in &s.waits_for {
        let check = match w {
            Wait::EndpointReady { .. } => "endpoint_ready".to_string(),
            Wait::NodeReady { node } => format!("node_ready {node}"),
            Wait::EtcdVoter { node } => format!("etcd_voter {node}"),
        };
        let _ = writeln!(out, "wait_for {} {check}", shell_quote(&w.describe()));
    }
}

fn capture(out: &mut String, v: Var) {
    let name = v.shell_name();
    let _ = match v {
        Var::Token => writeln!(
            out,
            "{name}=$(capture_flag '--token [a-z0-9]{{6}}\\.[a-z0-9]{{16}}')"
        ),
        Var::CaCertHash => writeln!(
            out,
            "{name}=$(capture_flag '--discovery-token-ca-cert-hash sha256:[0-9a-f]{{64}}')"
        ),
        Var::CertificateKey => writeln!(
            out,
            "{name}=$(printf '%s\\n' \"$OUT\" | awk '/Using certificate key:/ {{ getline; print $1; exit }}')"
        ),
    };
    let _ = writeln!(
        out,
        "[ -n \"${name}\" ] || {{ echo 'error: no {} in the output of kubeadm' >&2; exit 1; }}",
        v.placeholder().trim_matches(['<', '>'])
    );
}

/// `on HOST '...'` (`as_root HOST '...'` for a root command when root is through sudo),
/// the remote command one local word: its text single-quoted, the captured values
/// spliced in as `"$VAR"`.
fn remote(inv: &Inventory, c: &Command, s: &Step) -> String {
    let run = if c.root && inv.ssh.sudo {
        "as_root"
    } else {
        "on"
    };
    let mut word = String::new();
    for p in &c.parts {
        match p {
            Part::Text(t) => word.push_str(&shell_quote(t)),
            Part::Var(v) => {
                let _ = write!(word, "\"${}\"", v.shell_name());
            }
        }
    }
    let mut line = format!("{run} {} {word}", c.host);
    if s.kind == StepKind::Cni && !inv.cni.manifest.contains("://") {
        let _ = write!(line, " < {}", shell_quote(&inv.cni.manifest));
    }
    line
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line");
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}
