use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("hatui").chain(args.iter().copied()))
}

#[test]
fn topology_limits_are_enforced() {
    assert!(parse(&["lab", "--control-planes", "8"]).is_err());
    assert!(parse(&["lab", "--control-planes", "0"]).is_err());
    assert!(parse(&["lab", "--workers", "5001"]).is_err());
    assert!(parse(&["lab", "--control-planes", "4", "--workers", "5000"]).is_ok());
}

#[test]
fn the_load_balancer_defaults_to_the_seeds_nlb_and_reaches_the_lab() {
    let lb = |args: &[&str]| match parse(args).unwrap().command {
        Some(Command::Lab(a)) => a.topology.lab_config().lb,
        Some(Command::Status(s)) => s.topology.lab_config().lb,
        _ => panic!("not a lab subcommand"),
    };
    assert_eq!(lb(&["lab"]), LbKind::Nlb);
    assert_eq!(lb(&["lab", "--lb", "haproxy"]), LbKind::Haproxy);
    assert_eq!(
        lb(&["status", "--lab", "--lb", "kube-vip"]),
        LbKind::KubeVip
    );
    let check = |args: &[&str]| match parse(args).unwrap().command {
        Some(Command::Lab(a)) => a.topology.lab_config().lb_check,
        Some(Command::Drill(d)) => d.topology.lab_config().lb_check,
        _ => unreachable!(),
    };
    assert_eq!(check(&["lab"]), None);
    let own = "10/3/3".parse().ok();
    assert_eq!(check(&["lab", "--lb-check", "10/3/3"]), own);
    assert_eq!(
        check(&["drill", "--lab", "--fault", "power", "--lb-check", "10/3/3"]),
        own
    );
    let err = parse(&["lab", "--lb-check", "10/3"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("INTERVAL/UNHEALTHY/HEALTHY"), "{err}");
    let err = parse(&["lab", "--lb", "elb"]).unwrap_err().to_string();
    assert!(err.contains("nlb, haproxy or kube-vip"), "{err}");
}

/// A powered-off master boots before it is back: 45 s unless `--boot-time` says, on
/// `hatui lab`, `hatui drill --lab` and `hatui wizard --lab`.
#[test]
fn boot_time_defaults_to_45_s_and_reaches_the_lab() {
    let boot = |args: &[&str]| match parse(args).unwrap().command {
        Some(Command::Lab(a)) => a.topology.lab_config().boot_time_ms,
        Some(Command::Drill(d)) => d.request().unwrap().config.boot_time_ms,
        Some(Command::Wizard(w)) => match w.request().unwrap() {
            crate::wizard::run::Request::Lab(run) => run.config().boot_time_ms,
            other => panic!("{other:?}"),
        },
        _ => panic!("not a lab subcommand"),
    };
    assert_eq!(boot(&["lab"]), 45_000);
    assert_eq!(boot(&["lab", "--boot-time", "2m"]), 120_000);
    assert_eq!(
        boot(&["drill", "--lab", "--fault", "power", "--boot-time", "0s"]),
        0
    );
    assert_eq!(
        boot(&["wizard", "--lab", "--yes", "--boot-time", "10s"]),
        10_000
    );
    let err = parse(&["lab", "--boot-time", "2h"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("0s to 1h"), "{err}");
    assert!(
        parse(&["wizard", "--boot-time", "10s"]).is_err(),
        "needs --lab"
    );
}

#[test]
fn speed_and_advance_are_checked() {
    let err = parse(&["lab", "--speed", "fast"]).unwrap_err().to_string();
    assert!(err.contains("not a number"), "{err}");
    assert!(parse(&["lab", "--speed", "0"]).is_err());
    let ok = parse(&["status", "--lab", "--advance", "2h"]).unwrap();
    let Some(Command::Status(s)) = ok.command else {
        panic!("not status")
    };
    assert_eq!(s.advance, Some(SignedDuration::from_hours(2)));
    assert!(
        parse(&["status", "--advance", "2h"]).is_err(),
        "--advance needs --lab"
    );
}

#[test]
fn a_bare_lab_takes_the_wizards_scenarios() {
    use crate::wizard::headless::Scenario;
    for name in Scenario::NAMES {
        let cli = parse(&["lab", "--bare", "--scenario", name]).unwrap();
        let Some(Command::Lab(args)) = cli.command else {
            panic!("not lab")
        };
        let settings = args.settings(&EtcdSettings::default()).unwrap();
        assert_eq!(settings.scenario, Scenario::parse(name), "{name}");
    }
    assert!(
        parse(&["lab", "--scenario", "swap-on"]).is_err(),
        "needs --bare"
    );
    assert!(parse(&["lab", "--bare", "--scenario", "nope"]).is_err());
}

#[test]
fn real_etcd_excludes_other_etcd_flags() {
    let Some(Command::Lab(args)) = parse(&["lab", "--real-etcd"]).unwrap().command else {
        panic!("not lab")
    };
    assert!(args.real_etcd);
    for other in [
        [
            "lab",
            "--real-etcd",
            "--etcd-endpoints",
            "https://127.0.0.1:2379",
        ],
        ["lab", "--real-etcd", "--etcd-ssh", "root@10.0.0.11"],
    ] {
        let err = parse(&other).unwrap_err().to_string();
        assert!(err.contains("cannot be used with"), "{other:?}: {err}");
    }
    // Global flags before the subcommand escape clap's check: the lab checks again.
    let cli = parse(&["--etcd-ssh", "root@10.0.0.11", "lab", "--real-etcd"]).unwrap();
    let Some(Command::Lab(args)) = cli.command else {
        panic!("not lab")
    };
    let err = args.settings(&cli.etcd.settings()).unwrap_err();
    assert!(err.to_string().contains("--etcd-ssh"), "{err}");
    assert_eq!(args.etcd_conflict(&EtcdSettings::default()), None);
}

#[test]
fn wizard_flags_become_a_request() {
    use crate::wizard::run::Request;
    let request = |args: &[&str]| match parse(args).unwrap().command {
        Some(Command::Wizard(w)) => w.request(),
        other => panic!("not wizard: {other:?}"),
    };
    assert_eq!(
        request(&["wizard", "--inventory", "c.toml", "--dry-run"]),
        Ok(Request::DryRun {
            inventory: PathBuf::from("c.toml"),
            keep_cert_key: false,
        })
    );
    assert_eq!(
        request(&["wizard", "--lab", "--print-inventory", "--workers", "0"]),
        Ok(Request::PrintLabInventory {
            control_planes: 3,
            workers: 0
        })
    );
    assert!(request(&["wizard", "--inventory", "c.toml"]).is_err());
    assert!(
        parse(&["wizard", "--dry-run"]).is_err(),
        "--dry-run needs --inventory"
    );
    assert!(
        parse(&["wizard", "--print-inventory"]).is_err(),
        "needs --lab"
    );
    assert!(parse(&["wizard", "--lab", "--inventory", "c.toml"]).is_err());
    use crate::wizard::headless::{LabRun, Scenario};
    assert_eq!(
        request(&[
            "wizard",
            "--lab",
            "--yes",
            "--json",
            "--control-planes",
            "5",
            "--scenario",
            "expired-token"
        ]),
        Ok(Request::Lab(LabRun {
            control_planes: 5,
            workers: 2,
            scenario: Some(Scenario::ExpiredToken),
            json: true,
            seed: 1,
            lb: crate::lab::LbKind::Nlb,
            lb_check: None,
            boot_time_ms: 45_000,
            keep_cert_key: false,
        }))
    );
    let own = request(&["wizard", "--lab", "--yes", "--lb-check", "10/3/3"]);
    assert!(
        matches!(own, Ok(Request::Lab(LabRun { lb_check: Some(c), .. })) if c.to_string() == "10/3/3"),
        "{own:?}"
    );
    assert!(
        parse(&["wizard", "--yes"]).is_err(),
        "--yes needs --lab or --inventory"
    );
    let ssh = |parallel| Request::Ssh {
        inventory: "c.toml".into(),
        json: true,
        parallel,
        accept_new_host_keys: true,
        keep_cert_key: false,
    };
    let args = ["wizard", "--inventory", "c.toml", "--yes", "--json"];
    let args = [&args[..], &["--accept-new-host-keys"]].concat();
    assert_eq!(request(&args), Ok(ssh(10)));
    let args = [&args[..], &["--parallel", "3"]].concat();
    assert_eq!(request(&args), Ok(ssh(3)));
    assert!(parse(&[&args[..], &["--parallel", "0"]].concat()).is_err());
    assert!(request(&["wizard", "--lab", "--yes", "--parallel", "3"]).is_err());
    assert!(
        request(&[
            "wizard",
            "--inventory",
            "c",
            "--preflight",
            "--parallel",
            "3"
        ])
        .is_err()
    );
    let identity = [
        "--ssh-identity",
        "k",
        "wizard",
        "--inventory",
        "c.toml",
        "--yes",
    ];
    assert!(
        parse(&identity).is_ok(),
        "--ssh-identity without --etcd-ssh"
    );
    assert!(
        request(&["wizard", "--lab", "--json"]).is_err(),
        "--json needs --yes or --preflight"
    );
    assert_eq!(
        request(&["wizard", "--inventory", "c.toml", "--preflight", "--json"]),
        Ok(Request::Preflight {
            inventory: "c.toml".into(),
            json: true,
            accept_new_host_keys: false,
        })
    );
    assert!(
        parse(&["wizard", "--preflight"]).is_err(),
        "needs --inventory"
    );
    assert!(parse(&["wizard", "--lab", "--yes", "--scenario", "nope"]).is_err());
}

#[test]
fn the_inventory_gives_etcd_its_masters_with_the_command_lines_files() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hatui.toml");
    std::fs::write(
        &inv,
        "endpoint = \"lb:6443\"\n[ssh]\nidentity = \"/inv/key\"\nknown_hosts = \"/inv/kh\"\n\
         bastion = \"ops@jump\"\n\
         [[hosts]]\nname = \"cp-1\"\naddress = \"10.0.1.11\"\nrole = \"control-plane\"\n\
         [[hosts]]\nname = \"w-1\"\naddress = \"10.0.1.21\"\nrole = \"worker\"\n",
    )
    .unwrap();
    let inv = inv.to_str().unwrap();
    let settings = |args: &[&str]| parse(args).unwrap().etcd_settings().unwrap();
    let etcd = settings(&["status", "--inventory", inv, "--ssh-identity", "/cli/key"]);
    let [cp] = &etcd.inventory_masters[..] else {
        panic!("{:?}", etcd.inventory_masters)
    };
    assert_eq!(
        cp.to_string(),
        "root@10.0.1.11:22 via jump host ops@jump:22"
    );
    assert_eq!(cp.identity_file, Some(PathBuf::from("/cli/key")));
    assert_eq!(cp.known_hosts, Some(PathBuf::from("/inv/kh")));
    assert!(etcd.explicit());
    // Another way to etcd asked for: the inventory does not choose it.
    let exec = settings(&["--inventory", inv, "--etcd-exec"]);
    assert!(!exec.explicit());
}

#[test]
fn etcd_snapshot_takes_a_destination_or_a_file_to_verify() {
    let snapshot = |args: &[&str]| match parse(args).map(|c| c.command) {
        Ok(Some(Command::Etcd(EtcdCommandArgs {
            command: EtcdCommand::Snapshot(s),
        }))) => Ok(s),
        Ok(other) => panic!("not etcd snapshot: {other:?}"),
        Err(e) => Err(e.to_string()),
    };
    let s = snapshot(&["etcd", "snapshot", "--to", "/backup/", "--json"]).unwrap();
    assert_eq!((s.to, s.json), (Some(PathBuf::from("/backup/")), true));
    let s = snapshot(&["--etcd-ssh", "root@cp-1", "etcd", "snapshot"]).unwrap();
    assert_eq!((s.to, s.verify), (None, None));
    let s = snapshot(&["etcd", "snapshot", "--verify", "x.db"]).unwrap();
    assert_eq!(s.verify, Some(PathBuf::from("x.db")));
    let err = snapshot(&["etcd", "snapshot", "--verify", "x.db", "--to", "d"]).unwrap_err();
    assert!(err.contains("cannot be used with"), "{err}");
    assert!(parse(&["etcd"]).is_err(), "etcd needs its subcommand");
}

#[test]
fn kubeconfig_and_context_go_before_or_after_the_subcommand() {
    let cli = parse(&["--context", "prod", "status", "--kubeconfig", "/k"]).unwrap();
    assert_eq!(cli.target.context.as_deref(), Some("prod"));
    assert_eq!(cli.target.kubeconfig, Some(PathBuf::from("/k")));
    assert!(parse(&["--kubeconfig", "/k"]).unwrap().command.is_none());
}
