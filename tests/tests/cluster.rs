//! Issue 14, "every tier on its own host": `scripts/cluster.sh` builds a
//! cluster of network-namespace hosts on 198.18.0.0/24 (see
//! scripts/lib_cluster.sh), starts every tier on its hosts and puts the
//! balancers behind keepalived's virtual address; `down` must leave nothing
//! behind: no namespace, no veth, no bridge, no process.
//!
//! The scripts run with an empty environment (as an operator's `env -i`
//! would), with a data directory of their own and the debug binaries that
//! scripts/test.sh built. Only one cluster can be up on a machine (fixed
//! names and addresses): `up` waits (SW_CLUSTER_WAIT) while another
//! checkout's test holds it. Needs root, as CI has.

mod load;

use load::Outcome;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const VIP: &str = "198.18.0.10:8080";
/// The admin listener of balancer-1, on edge host 1 (scripts/lib_cluster.sh).
const EDGE1_ADMIN: &str = "198.18.0.11:9090";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `scripts/NAME ARGS` from an empty environment; output into the test log.
fn script(var: &Path, log: &Path, name: &str, args: &[&str]) -> bool {
    let env = tests::TestEnv::get();
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

#[test]
fn cluster_up_serves_on_the_virtual_address_and_down_leaves_nothing() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "cluster.sh needs root (network namespaces); CI runs as root");
    let env = tests::TestEnv::get();
    let var = std::env::temp_dir().join(format!("stackwire-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&var);
    std::fs::create_dir_all(&var).unwrap();
    // PostgreSQL runs as user postgres and must reach its directories.
    Command::new("chmod").arg("755").arg(&var).status().unwrap();
    let log = env.log_dir.join("cluster.log");
    eprintln!("cluster scripts' output: {}", log.display());

    let up = script(&var, &log, "cluster.sh", &["up"]);
    let checks = up.then(|| {
        let mut failures = Vec::new();
        match get(VIP, "/") {
            Outcome::Status(200, body) if body.contains("<html") => {}
            other => failures.push(format!("GET / on the virtual address: {other:?}")),
        }
        match get(EDGE1_ADMIN, "/status/json") {
            Outcome::Status(200, body) => {
                let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
                let addrs: Vec<String> = doc["services"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|s| s["instances"].as_array().cloned().unwrap_or_default())
                    .map(|i| i["addr"].as_str().unwrap_or("").to_string())
                    .collect();
                // Six tiers on each of the two app hosts, each recorded with its host's address.
                for host in ["198.18.0.21:", "198.18.0.22:"] {
                    let n = addrs.iter().filter(|a| a.starts_with(host)).count();
                    if n != 6 {
                        failures.push(format!("{n} instances registered on {host} (want 6): {addrs:?}"));
                    }
                }
            }
            other => failures.push(format!("/status/json on edge host 1: {other:?}")),
        }
        failures
    });
    let down = script(&var, &log, "cluster.sh", &["down"]);
    let left = leftovers(&var);
    let _ = std::fs::remove_dir_all(&var);
    assert!(up, "cluster.sh up failed (see {})", log.display());
    assert_eq!(checks.unwrap(), Vec::<String>::new());
    assert!(down, "cluster.sh down failed (see {})", log.display());
    assert_eq!(left, Vec::<String>::new(), "cluster.sh down left these behind");
}
