//! `registry_agent list` prints every live instance; `registry_agent watch`
//! prints the listing again whenever it changes; `registry_agent redis`
//! prints which Redis node is primary, replica or Sentinel. Where the
//! registry is comes from the flags of [`RegistryArgs`] or their environment
//! variables (STACKWIRE_REDIS_SENTINELS + _MASTER + _PASSWORD, or
//! STACKWIRE_REDIS_URL; STACKWIRE_REGISTRY_PREFIX); `--help` lists them.

use clap::{Parser, Subcommand};
use registry_agent::{Directory, RegistryArgs};
use std::time::Duration;

/// What the service registry holds, for operators.
#[derive(Parser)]
#[command(name = "registry_agent", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every live instance, by service.
    List,
    /// The listing again whenever it changes (until interrupted).
    Watch,
    /// Which Redis node is primary, replica or Sentinel.
    Redis,
}

fn print(services: &std::collections::BTreeMap<String, Vec<registry_agent::InstanceRecord>>) {
    let now = proto::clock::now_ms();
    for (service, instances) in services {
        println!("{service} ({} live)", instances.len());
        for r in instances {
            println!(
                "  {:<28} {:<21} pid {:<7} load {:<4} beat {:>5} ms ago  ttl {} ms",
                r.id,
                r.addr,
                r.pid,
                r.load,
                now - r.last_heartbeat_ms,
                r.ttl_ms
            );
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let cfg = match cli.registry.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("registry_agent: {e}");
            std::process::exit(2)
        }
    };
    match cli.command {
        Cmd::List => match registry_agent::list_once(&cfg) {
            Ok(services) => print(&services),
            Err(e) => {
                eprintln!("registry_agent: {e}");
                std::process::exit(1)
            }
        },
        Cmd::Redis => {
            let t = registry_agent::redis_topology(&cfg);
            println!("{} registry{}", t.mode, t.master_name.map(|m| format!(", master name {m}")).unwrap_or_default());
            for n in t.nodes {
                println!("  {:<9} {:<21} {:<8} {}", n.role, n.addr, n.state, n.detail);
            }
            if let Some(e) = t.error {
                eprintln!("registry_agent: {e}");
                std::process::exit(1)
            }
        }
        Cmd::Watch => {
            let dir = Directory::start(cfg);
            let mut shown: Option<u64> = None;
            loop {
                let snap = match shown {
                    None => dir.snapshot(),
                    Some(v) => dir.wait_newer(v, Duration::from_secs(5)),
                };
                if shown != Some(snap.version) {
                    shown = Some(snap.version);
                    println!("--- {} (version {})", proto::clock::iso8601(snap.read_at_ms), snap.version);
                    print(&snap.services);
                }
            }
        }
    }
}
