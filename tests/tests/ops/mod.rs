//! A whole stackwire deployed by the operator scripts themselves, the way a
//! person deploys it: `scripts/start_all.sh`, `stop_all.sh` and
//! `rolling_restart.sh`, each run with `env -i` (an empty environment), from
//! a second checkout of the scripts in a temporary directory. That checkout's
//! `var/settings` (see scripts/lib.sh) holds a private block of ports and
//! `SW_BIN_DIR` (the debug binaries scripts/test.sh built), so the scripts
//! find everything from the file, nothing from the caller, and never touch
//! the ports of a `start_all.sh` of the real checkout.
//!
//! The port block: `SW_TEST_OPS_PORT_BASE` if set, else the first free run
//! of ports found from a pid-derived start (see `testkit::free_ports`). Layout
//! from the base: +0 the shared HTTP port, +1/+2 the balancers' own, +3/+4
//! their admin ports, +5/+6 PostgreSQL nodes, +7/+8 Redis, +9..=+11
//! Sentinels, +12/+13 Patroni REST, +14..=+19 etcd (client, peer) ×3, and
//! the services from +30 in steps of 10 (question +31, +32; answer +41…),
//! each with its /metrics 5 above (question-1's on +36).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BLOCK: u16 = 90;

pub struct Deployment {
    /// The second checkout (scripts/ and var/).
    pub root: PathBuf,
    pub var: PathBuf,
    pub base: u16,
    /// Where the scripts' own output goes, one file per run.
    pub log_dir: PathBuf,
    runs: std::cell::Cell<u32>,
}

pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub output: String,
}

impl Deployment {
    /// Copies the scripts and writes the settings; starts nothing.
    /// `extra` settings are appended (e.g. `("SW_PG_HA", "1")`).
    pub fn new(name: &str, extra: &[(&str, String)]) -> Deployment {
        let env = testkit::TestEnv::get();
        let base = match std::env::var("SW_TEST_OPS_PORT_BASE") {
            Ok(b) => b.parse().expect("SW_TEST_OPS_PORT_BASE is a port number"),
            Err(_) => testkit::free_ports(BLOCK),
        };
        for port in base..base + BLOCK {
            assert!(
                std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
                "port {port} of the block {base}+{BLOCK} is in use: stop what runs there"
            );
        }
        let root = std::env::temp_dir().join(format!("stackwire-ops-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("var")).unwrap();
        // PostgreSQL runs as user postgres and must reach var/ through every parent.
        chmod(&root, 0o755);
        chmod(&root.join("var"), 0o755);
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = Command::new("cp").arg("-r").arg(repo.join("scripts")).arg(&root).status().unwrap();
        assert!(status.success(), "copy the scripts");
        let p = |off: u16| (base + off).to_string();
        let mut settings = vec![
            ("SW_HTTP_PORT", p(0)),
            ("SW_BALANCER_PORTS", format!("{} {}", p(1), p(2))),
            ("SW_ADMIN_PORT", p(3)),
            ("SW_PG_PORT", p(5)),
            ("SW_PG_PORTS", format!("{} {}", p(5), p(6))),
            ("SW_REDIS_PORT", p(7)),
            ("SW_REDIS_REPLICA_PORT", p(8)),
            ("SW_SENTINEL_PORTS", format!("{} {} {}", p(9), p(10), p(11))),
            ("SW_PATRONI_PORTS", format!("{} {}", p(12), p(13))),
            ("SW_ETCD_PORTS", format!("{} {} {}", p(14), p(16), p(18))),
            ("SW_SERVICE_PORT_BASE", p(20)),
            ("SW_SERVICE_PORT_STRIDE", "10".into()),
            ("SW_RPC_ADMIN_OFFSET", "5".into()),
            ("SW_PG_HA", "0".into()),
            ("SW_BIN_DIR", env.bin_dir.display().to_string()),
        ];
        settings.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        settings.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
        let text: String = settings.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(root.join("var/settings"), text).unwrap();
        let log_dir = env.log_dir.join(format!("ops-{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&log_dir);
        std::fs::create_dir_all(&log_dir).unwrap();
        Deployment { var: root.join("var"), root, base, log_dir, runs: std::cell::Cell::new(0) }
    }

    /// Runs `scripts/NAME` with an empty environment; its output goes to a log
    /// file and is returned.
    pub fn run(&self, script: &str, env: &[(&str, &str)]) -> Run {
        self.run_as(script, env, &[])
    }

    /// [`Self::run`] under `flock LOCK`, as an operator serialises runs: the
    /// script inherits the lock's descriptor, and so would what it starts.
    pub fn run_under_flock(&self, script: &str, lock: &std::path::Path) -> Run {
        self.run_as(script, &[], &[std::ffi::OsStr::new("/usr/bin/flock"), lock.as_os_str()])
    }

    fn run_as(&self, script: &str, env: &[(&str, &str)], wrapper: &[&std::ffi::OsStr]) -> Run {
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let log = self.log_dir.join(format!("{n:02}-{script}.log"));
        let mut cmd = Command::new("/usr/bin/env");
        cmd.arg("-i");
        for (k, v) in env {
            cmd.arg(format!("{k}={v}"));
        }
        let out = cmd
            .args(wrapper)
            .arg("/bin/bash")
            .arg(self.root.join("scripts").join(script))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run a script");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        std::fs::write(&log, &text).unwrap();
        eprintln!("ops: {script} exited {:?} (output: {})", out.status.code(), log.display());
        Run { ok: out.status.success(), code: out.status.code(), output: text }
    }

    pub fn http(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.base).into()
    }

    /// The balancers' admin listeners (their /status/json).
    pub fn balancers(&self) -> Vec<SocketAddr> {
        vec![([127, 0, 0, 1], self.base + 3).into(), ([127, 0, 0, 1], self.base + 4).into()]
    }

    /// Every process the scripts recorded (var/run/NAME.cmd).
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.var.join("run"))
            .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".cmd").map(String::from)).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// The live pid recorded for NAME.
    pub fn pid(&self, name: &str) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.var.join(format!("run/{name}.pid"))).ok()?.trim().parse().ok()?;
        // SAFETY: kill(2) with signal 0 only checks that the pid exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit(") ").next().is_some_and(|r| r.starts_with('Z')))
            .unwrap_or(true);
        (alive && !zombie).then_some(pid)
    }

    /// The `--listen` address in NAME's recorded command line.
    pub fn listen(&self, name: &str) -> Option<String> {
        let cmd = std::fs::read(self.var.join(format!("run/{name}.cmd"))).ok()?;
        let args: Vec<String> = cmd.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        args.windows(2).find(|w| w[0] == "--listen").map(|w| w[1].clone())
    }
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Drop for Deployment {
    fn drop(&mut self) {
        // Whatever happened, nothing of ours stays up.
        let r = self.run("stop_all.sh", &[]);
        if !r.ok {
            eprintln!("ops: stop_all.sh failed on cleanup:\n{}", r.output);
        }
        let _ = Command::new("cp").arg("-r").arg(self.var.join("log")).arg(self.log_dir.join("var-log")).status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
