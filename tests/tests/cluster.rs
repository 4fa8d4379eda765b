//! Issue 14, "every tier on its own host": `scripts/cluster.sh` builds a
//! cluster of network-namespace hosts on 198.18.0.0/24 (see
//! scripts/lib_cluster.sh), starts every tier on its hosts and puts the
//! balancers behind keepalived's virtual address. One test, in order:
//!
//! 1. `cluster.sh up`; the front page answers on the virtual address, and
//!    `/status/json` lists six instances on each app host, each with its
//!    host's address.
//! 2. docs/deploy.md's units pass `systemd-analyze verify` and carry the very
//!    command lines and environment files `cluster.sh` ran (its records in
//!    `$SW_VAR/run/`, its env files in `$SW_VAR/etc/`).
//! 3. `scripts/partition.sh --short` under load: the edge holder cut off,
//!    its balancer frozen, an app host, the database primary and the Redis
//!    primary cut off in turn, and netem's delay and loss on an app host; it
//!    asserts its own report (0 failed GETs, 0 lost or duplicated answers, no
//!    5xx without Retry-After, the address moved within 3 s, p99 under netem
//!    within 2x the healthy run's).
//! 4. `cluster.sh down` leaves nothing behind: no namespace, no veth, no
//!    bridge, no process.
//!
//! The scripts run with an empty environment (as an operator's `env -i`
//! would), with a data directory of their own and the debug binaries that
//! scripts/test.sh built. Only one cluster can be up on a machine (fixed
//! names and addresses): `up` waits (SW_CLUSTER_WAIT) while another
//! checkout's test holds it. Needs root, as CI has. About 4 minutes.

mod load;

use load::Outcome;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const VIP: &str = "198.18.0.10:8080";
/// The admin listener of balancer-1, on edge host 1 (scripts/lib_cluster.sh).
const EDGE1_ADMIN: &str = "198.18.0.11:9090";
/// Where docs/deploy.md installs the stackwire binaries.
const PREFIX: &str = "/usr/local/lib/stackwire/";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `scripts/NAME ARGS` from an empty environment; output into the test log.
fn script(var: &Path, log: &Path, name: &str, args: &[&str]) -> bool {
    let env = testkit::TestEnv::get();
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    Command::new(repo().join("scripts").join(name))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("SW_BIN_DIR", &env.bin_dir)
        .env("SW_CLUSTER_VAR", var)
        .env("SW_CLUSTER_WAIT", "900")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run scripts/{name}: {e}"))
        .success()
}

fn text(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What of a cluster is still on the machine: namespaces, links, processes.
fn leftovers(var: &Path) -> Vec<String> {
    let mut left: Vec<String> = text("ip", &["netns", "list"])
        .lines()
        .filter(|l| l.starts_with("swc-"))
        .map(|l| format!("namespace {l}"))
        .collect();
    left.extend(
        text("ip", &["-o", "link", "show"]).lines().filter(|l| l.contains("swc-")).map(|l| format!("link {l}")),
    );
    let var = var.to_string_lossy();
    left.extend(
        text("ps", &["-eo", "pid=,args="])
            .lines()
            .filter(|l| l.contains(var.as_ref()) || l.contains("198.18.0.") || l.contains("swc-"))
            .map(|l| format!("process {}", l.trim())),
    );
    left
}

fn get(addr: &str, path: &str) -> Outcome {
    load::request(addr.parse::<SocketAddr>().unwrap(), "GET", path, &[], b"", Duration::from_secs(5))
}

/// Step 1: the site on the virtual address, every instance registered under its host.
fn serves(failures: &mut Vec<String>) {
    match get(VIP, "/") {
        Outcome::Status(200, body) if body.contains("<html") => {}
        other => failures.push(format!("GET / on the virtual address: {other:?}")),
    }
    let doc = match get(EDGE1_ADMIN, "/status/json") {
        Outcome::Status(200, body) => serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        other => return failures.push(format!("/status/json on edge host 1: {other:?}")),
    };
    let instances: Vec<(String, String)> = doc["services"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["instances"].as_array().cloned().unwrap_or_default())
        .map(|i| (i["addr"].as_str().unwrap_or("").to_string(), i["host"].as_str().unwrap_or("").to_string()))
        .collect();
    // Six tiers on each of the two app hosts, each shown with its host.
    for host in ["198.18.0.21", "198.18.0.22"] {
        let n = instances.iter().filter(|(a, h)| a.starts_with(&format!("{host}:")) && h == host).count();
        if n != 6 {
            failures.push(format!("{n} instances on host {host} in /status (want 6): {instances:?}"));
        }
    }
}

/// The units of docs/deploy.md: each ```ini block whose first line is `# NAME.service`.
fn units() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(repo().join("docs/deploy.md")).expect("docs/deploy.md");
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(l) = lines.next() {
        if l.trim() != "```ini" {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let name = body.first().and_then(|l| l.strip_prefix("# ")).expect("a unit block starts with # NAME").trim();
        out.push((name.to_string(), body.join("\n") + "\n"));
    }
    out
}

fn key<'a>(unit: &'a str, k: &str) -> Vec<&'a str> {
    unit.lines().filter_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('='))).collect()
}

/// KEY=VALUE lines of an env file.
fn env_file(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A recorded process: (host, argv without the `ip netns exec` prefix, environment).
fn record(var: &Path, name: &str) -> Option<(String, Vec<String>, BTreeMap<String, String>)> {
    let split = |p: PathBuf| -> Option<Vec<String>> {
        let raw = std::fs::read(p).ok()?;
        Some(
            raw.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect(),
        )
    };
    let cmd = split(var.join("run").join(format!("{name}.cmd")))?;
    let env = split(var.join("run").join(format!("{name}.env")))?;
    let mut argv = cmd[2..].to_vec();
    let mut host = String::new();
    if argv.len() > 4 && argv[0].ends_with("/ip") && argv[1] == "netns" && argv[2] == "exec" {
        host = argv[3].trim_start_matches("swc-").to_string();
        argv.drain(..4);
    }
    if argv.first().is_some_and(|a| a.ends_with("/setpriv")) {
        let at = argv.iter().position(|a| a == "--")?;
        argv.drain(..=at);
    }
    let env = env.iter().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Some((host, argv, env))
}

/// `${K}` from the map, `%i` as the instance.
fn expand(s: &str, vars: &BTreeMap<String, String>, instance: &str) -> String {
    let mut out = s.replace("%i", instance);
    for (k, v) in vars {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

fn flags(argv: &[String]) -> Vec<String> {
    let mut f: Vec<String> =
        argv.iter().filter(|a| a.starts_with("--")).map(|a| a.split('=').next().unwrap().to_string()).collect();
    f.sort();
    f
}

fn canonical(p: &str) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p))
}

/// Step 2: the units verify, and match what cluster.sh ran.
fn units_match(var: &Path, failures: &mut Vec<String>) {
    let env = testkit::TestEnv::get();
    let bin = format!("{}/", env.bin_dir.display());
    let units = units();
    let names: Vec<&str> = units.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "stackwire-question@.service",
        "stackwire-answer@.service",
        "stackwire-comment@.service",
        "stackwire-user@.service",
        "stackwire-vote@.service",
        "stackwire-webui@.service",
        "stackwire-balancer.service",
        "stackwire-keepalived.service",
        "stackwire-etcd.service",
        "stackwire-patroni.service",
        "stackwire-redis.service",
        "stackwire-sentinel.service",
    ] {
        if !names.contains(&want) {
            failures.push(format!("docs/deploy.md has no unit {want}"));
        }
    }
    // systemd-analyze verify, with the built binaries where the units install them.
    let dir = var.join("units");
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    for (name, unit) in &units {
        let p = dir.join(name);
        std::fs::write(&p, unit.replace(PREFIX, &bin)).unwrap();
        paths.push(p);
    }
    let out = Command::new("systemd-analyze").arg("verify").args(&paths).output().expect("systemd-analyze");
    if !out.status.success() {
        failures.push(format!(
            "systemd-analyze verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let shared = env_file(&var.join("etc/stackwire.env"));
    for (name, unit) in &units {
        let exec = key(unit, "ExecStart");
        let [exec] = exec[..] else {
            failures.push(format!("{name}: not one ExecStart"));
            continue;
        };
        let argv: Vec<&str> = exec.split_whitespace().collect();
        let program = argv[0];
        if let Some(binary) = program.strip_prefix(PREFIX) {
            // A stackwire process: the same argv, the same two env files, nothing else in its environment.
            let tier = name.trim_start_matches("stackwire-").split(['@', '.']).next().unwrap();
            let files = key(unit, "EnvironmentFile");
            if files != ["/etc/stackwire/stackwire.env", "/etc/stackwire/host.env"] {
                failures.push(format!("{name}: EnvironmentFile {files:?}"));
            }
            for i in ["1", "2"] {
                let Some((host, ran, ran_env)) = record(var, &format!("{tier}-{i}")) else {
                    failures.push(format!("{name}: cluster.sh ran no {tier}-{i}"));
                    continue;
                };
                let mut vars = shared.clone();
                vars.extend(env_file(&var.join("etc").join(&host).join("host.env")));
                let want: Vec<String> = argv
                    .iter()
                    .map(|a| expand(a, &vars, i).replace(PREFIX, &bin))
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .map(String::from)
                    .collect();
                if ran != want {
                    failures.push(format!(
                        "{name} as {tier}-{i} on {host}: the unit runs {want:?}, cluster.sh ran {ran:?}"
                    ));
                }
                let ran_keys: Vec<&String> = ran_env.keys().filter(|k| *k != "PATH" && *k != "_").collect();
                let want_keys: Vec<&String> = vars.keys().collect();
                if ran_keys != want_keys {
                    failures.push(format!("{tier}-{i}: environment {ran_keys:?}, the env files give {want_keys:?}"));
                }
                let _ = binary;
            }
            continue;
        }
        // The others run a Debian program: the same program with the same flags.
        let ran = match name.as_str() {
            "stackwire-keepalived.service" => record(var, "keepalived-1").map(|r| r.1),
            "stackwire-etcd.service" => record(var, "pg-etcd-1").map(|r| r.1),
            "stackwire-patroni.service" => record(var, "pg-1").map(|r| r.1),
            "stackwire-redis.service" | "stackwire-sentinel.service" => {
                let pidfile =
                    if name.contains("redis") { "redis-a/redis.pid" } else { "redis-sentinel-1/sentinel.pid" };
                // redis-server and redis-sentinel are one executable: their process title tells them apart.
                std::fs::read_to_string(var.join(pidfile))
                    .ok()
                    .and_then(|p| std::fs::read_to_string(format!("/proc/{}/cmdline", p.trim())).ok())
                    .and_then(|t| t.split(['\0', ' ']).next().map(|w| format!("/usr/bin/{w}")))
                    .map(|program| vec![program])
            }
            _ => None,
        };
        let Some(ran) = ran else {
            failures.push(format!("{name}: no process of cluster.sh to compare with"));
            continue;
        };
        if canonical(&ran[0]) != canonical(program) || Path::new(&ran[0]).file_name() != Path::new(program).file_name()
        {
            failures.push(format!("{name}: the unit runs {program}, cluster.sh ran {}", ran[0]));
        }
        let unit_argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        if name != "stackwire-redis.service" && name != "stackwire-sentinel.service" && flags(&unit_argv) != flags(&ran)
        {
            failures.push(format!("{name}: flags {:?}, cluster.sh ran {:?}", flags(&unit_argv), flags(&ran)));
        }
    }
}

#[test]
fn cluster_of_hosts_survives_partitions_and_down_leaves_nothing() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "cluster.sh needs root (network namespaces); CI runs as root");
    let env = testkit::TestEnv::get();
    let var = std::env::temp_dir().join(format!("stackwire-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&var);
    std::fs::create_dir_all(&var).unwrap();
    // PostgreSQL runs as user postgres and must reach its directories.
    Command::new("chmod").arg("755").arg(&var).status().unwrap();
    let log = env.log_dir.join("cluster.log");
    let _ = std::fs::remove_file(&log);
    eprintln!("cluster scripts' output: {}", log.display());

    let up = script(&var, &log, "cluster.sh", &["up"]);
    let mut failures = Vec::new();
    let mut partition = false;
    if up {
        serves(&mut failures);
        units_match(&var, &mut failures);
        partition = script(&var, &log, "partition.sh", &["--short"]);
    }
    let down = script(&var, &log, "cluster.sh", &["down"]);
    let left = leftovers(&var);
    let report = std::fs::read_to_string(var.join("log/partition-report.txt")).unwrap_or_default();
    eprintln!("{report}");
    let _ = std::fs::remove_dir_all(&var);
    assert!(up, "cluster.sh up failed (see {})", log.display());
    assert_eq!(failures, Vec::<String>::new());
    assert!(partition, "partition.sh --short failed (see {}):\n{report}", log.display());
    assert!(report.contains("RESULT: PASS"), "{report}");
    assert!(down, "cluster.sh down failed (see {})", log.display());
    assert_eq!(left, Vec::<String>::new(), "cluster.sh down left these behind");
}
