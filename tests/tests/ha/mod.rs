//! A replicated Redis of the tests' own: a primary, one replica and three
//! Sentinels on free ports, every node with a password, killed when
//! dropped. Tests that kill the primary need their own, so they never touch
//! the shared test Redis other tests run against. The ports are below the
//! kernel's ephemeral range ([`testkit::free_ports`]).
//!
//! The Sentinel timing is the one scripts/lib.sh uses: a primary silent for
//! `DOWN_MS` is down for a Sentinel, two agree, the replica is promoted;
//! `FAILOVER_MS` bounds one attempt.

#![allow(dead_code)]

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::{poll, wait_for};

pub const DOWN_MS: u64 = 1000;
pub const FAILOVER_MS: u64 = 4000;
pub const MASTER: &str = "stackwire";
pub const PASSWORD: &str = "ha-test-password";

pub struct Node {
    pub port: u16,
    pub child: Option<Child>,
}

pub struct RedisHa {
    pub dir: PathBuf,
    /// Data nodes; index 0 starts as the primary.
    pub data: Vec<Node>,
    pub sentinels: Vec<Node>,
}

fn spawn(bin: &str, conf: &PathBuf, log: &PathBuf) -> Child {
    Command::new(bin)
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(File::create(log).expect("redis log"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (scripts/lib.sh installs redis-server and redis-sentinel)"))
}

fn query(port: u16, args: &[&str]) -> Option<redis::Value> {
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{port}/");
    let client = redis::Client::open(url).ok()?;
    let mut con = client.get_connection_with_timeout(Duration::from_millis(300)).ok()?;
    con.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut con).ok()
}

impl RedisHa {
    /// Data nodes on `base` and `base + 1`, Sentinels on `base + 2 ..= base + 4`,
    /// where `base` is a run of free ports (see [`testkit::free_ports`]).
    pub fn start(name: &str) -> RedisHa {
        let base = testkit::free_ports(5);
        let dir = std::env::temp_dir().join(format!("stackwire-ha-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for port in base..=base + 4 {
            // A leftover from an earlier run on these ports would confuse everything.
            assert!(
                std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
                "port {port} is already in use: stop what runs there"
            );
        }
        let mut ha = RedisHa { dir, data: Vec::new(), sentinels: Vec::new() };
        ha.start_data(base, None);
        ha.start_data(base + 1, Some(base));
        for i in 0..3 {
            ha.start_sentinel(base + 2 + i, base);
        }
        let t = Instant::now();
        let limit = Duration::from_secs(20);
        wait_for(&format!("the Sentinels to agree on the primary {base}"), limit, || {
            (ha.primary() == Some(base)).then_some(())
        });
        // The replica must have synced, or a failover would lose everything.
        wait_for("the replica to sync", limit.saturating_sub(t.elapsed()), || {
            matches!(query(base + 1, &["INFO", "replication"]), Some(redis::Value::BulkString(ref b))
                if String::from_utf8_lossy(b).contains("master_link_status:up"))
            .then_some(())
        });
        ha
    }

    fn start_data(&mut self, port: u16, replica_of: Option<u16>) {
        let conf = self.dir.join(format!("redis-{port}.conf"));
        let mut text = format!(
            "bind 127.0.0.1\nport {port}\ndaemonize no\nsave \"\"\nappendonly no\ndir {}\n\
             requirepass {PASSWORD}\nmasterauth {PASSWORD}\n",
            self.dir.display()
        );
        if let Some(p) = replica_of {
            text.push_str(&format!("replicaof 127.0.0.1 {p}\n"));
        }
        std::fs::write(&conf, text).unwrap();
        let child = spawn("redis-server", &conf, &self.dir.join(format!("redis-{port}.log")));
        self.data.push(Node { port, child: Some(child) });
        wait_port(port, &self.dir.join(format!("redis-{port}.log")));
    }

    fn start_sentinel(&mut self, port: u16, primary: u16) {
        let conf = self.dir.join(format!("sentinel-{port}.conf"));
        std::fs::write(
            &conf,
            format!(
                "bind 127.0.0.1\nport {port}\ndaemonize no\ndir {}\nrequirepass {PASSWORD}\n\
                 sentinel resolve-hostnames no\nsentinel monitor {MASTER} 127.0.0.1 {primary} 2\n\
                 sentinel auth-pass {MASTER} {PASSWORD}\nsentinel down-after-milliseconds {MASTER} {DOWN_MS}\n\
                 sentinel failover-timeout {MASTER} {FAILOVER_MS}\nsentinel parallel-syncs {MASTER} 1\n",
                self.dir.display()
            ),
        )
        .unwrap();
        let child = spawn("redis-sentinel", &conf, &self.dir.join(format!("sentinel-{port}.log")));
        self.sentinels.push(Node { port, child: Some(child) });
        wait_port(port, &self.dir.join(format!("sentinel-{port}.log")));
    }

    /// `host:port,…` of the Sentinels.
    pub fn sentinel_list(&self) -> String {
        self.sentinels.iter().map(|s| format!("127.0.0.1:{}", s.port)).collect::<Vec<_>>().join(",")
    }

    /// Makes every process this test starts from now on find Redis through
    /// these Sentinels (children inherit the environment). Call it before
    /// starting the cluster, and keep one test per file: the environment is
    /// the process's.
    pub fn export(&self) {
        std::env::set_var("STACKWIRE_REDIS_SENTINELS", self.sentinel_list());
        std::env::set_var("STACKWIRE_REDIS_MASTER", MASTER);
        std::env::set_var("STACKWIRE_REDIS_PASSWORD", PASSWORD);
    }

    /// A registry config for reading the cluster's records directly.
    pub fn registry(&self, prefix: &str) -> registry_agent::RegistryConfig {
        let s = registry_agent::SentinelConfig::parse(&self.sentinel_list(), MASTER, Some(PASSWORD.into())).unwrap();
        let mut cfg = registry_agent::RegistryConfig::new("sentinel");
        cfg.sentinel = Some(s);
        cfg.prefix = prefix.to_string();
        cfg
    }

    /// The primary's port as the first answering Sentinel reports it.
    pub fn primary(&self) -> Option<u16> {
        for s in &self.sentinels {
            if let Some(v) = query(s.port, &["SENTINEL", "get-master-addr-by-name", MASTER]) {
                let parts: Vec<String> = redis::from_redis_value(&v).unwrap_or_default();
                if let Some(p) = parts.get(1).and_then(|p| p.parse().ok()) {
                    return Some(p);
                }
            }
        }
        None
    }

    /// kill -9 the current primary; returns its port.
    pub fn kill_primary(&mut self) -> u16 {
        let port = self.primary().expect("a primary to kill");
        let node = self.data.iter_mut().find(|n| n.port == port).expect("the primary is ours");
        if let Some(mut c) = node.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        port
    }

    /// Restarts a killed data node as a replica of the current primary.
    pub fn restart_as_replica(&mut self, port: u16) {
        let primary = self.primary().expect("a primary");
        self.data.retain(|n| n.port != port);
        self.start_data(port, Some(primary));
    }

    /// Waits until Sentinel names a primary other than `old`; returns it.
    pub fn wait_new_primary(&self, old: u16, limit: Duration) -> Option<u16> {
        poll(limit, || {
            let p = self.primary().filter(|p| *p != old)?;
            matches!(query(p, &["ROLE"]), Some(redis::Value::Array(ref v))
                    if v.first().and_then(|r| redis::from_redis_value::<String>(r).ok()).as_deref() == Some("master"))
            .then_some(p)
        })
    }
}

fn wait_port(port: u16, log: &std::path::Path) {
    poll(Duration::from_secs(10), || std::net::TcpStream::connect(("127.0.0.1", port)).ok()).unwrap_or_else(|| {
        panic!("redis on {port} never listened; its log:\n{}", std::fs::read_to_string(log).unwrap_or_default())
    });
}

impl Drop for RedisHa {
    fn drop(&mut self) {
        for n in self.sentinels.iter_mut().chain(self.data.iter_mut()) {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
