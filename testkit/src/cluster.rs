//! The whole-stackwire launcher of the black-box tests: starts a cluster of
//! the real binaries and talks to it over real sockets, the way a user and
//! an operator would.
//!
//! `scripts/test.sh` starts one Redis and one PostgreSQL on test ports and
//! passes them in `STACKWIRE_TEST_REDIS_URL` and `STACKWIRE_TEST_DATABASE_URL`,
//! with the built binaries in `STACKWIRE_BIN_DIR`. Every `Cluster` gets its own
//! registry prefix and its own database, so tests run in parallel without
//! seeing each other. Every process logs to its own file under
//! `target/test-logs/<cluster>/`, and readiness is always polled (a log line, a
//! catalog listing), never slept for.

use crate::http::HttpClient;
use crate::{admin_addr, spawn_listening, wait_exit, wait_for};
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Where the test Redis, PostgreSQL and binaries are.
#[derive(Clone, Debug)]
pub struct TestEnv {
    pub redis_url: String,
    pub database_url: String,
    pub bin_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl TestEnv {
    /// Panics with instructions when run outside scripts/test.sh: a black-box
    /// test that silently skipped would pass with the feature missing.
    pub fn get() -> TestEnv {
        let var = |k: &str| {
            std::env::var(k)
                .unwrap_or_else(|_| panic!("{k} is not set: run the integration tests through scripts/test.sh"))
        };
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        TestEnv {
            redis_url: var("STACKWIRE_TEST_REDIS_URL"),
            database_url: var("STACKWIRE_TEST_DATABASE_URL"),
            bin_dir: std::env::var("STACKWIRE_BIN_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| root.join("target/debug")),
            log_dir: std::env::var("STACKWIRE_TEST_LOG_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| root.join("target/test-logs")),
        }
    }
}

/// One running process of ours.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
    /// The address it reported in its `listening on` line.
    pub addr: SocketAddr,
}

impl Proc {
    /// Starts `cmd` (stdout already chosen) with its stderr in `log`, and
    /// waits up to 20 s for it to listen.
    pub fn start(label: &str, cmd: Command, log: PathBuf) -> Proc {
        let (child, addr) = spawn_listening(label, cmd, &log, Duration::from_secs(20));
        Proc { name: label.to_string(), child, log, addr }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) with a pid we spawned.
        unsafe { libc::kill(self.pid(), sig) };
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A process's admin listener (`--admin`), from its `admin on ADDR` line:
    /// a balancer's `/status`, `/status/json` and `/metrics`, a service's or
    /// webui's `/metrics`.
    pub fn admin_addr(&self) -> SocketAddr {
        wait_for(&format!("{} to log `admin on`", self.name), Duration::from_secs(10), || admin_addr(&self.log_text()))
    }

    /// An HTTP client for the admin listener.
    pub fn admin(&self) -> HttpClient {
        HttpClient::new(self.admin_addr())
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        wait_exit(&mut self.child, limit)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many of each service a cluster starts with.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub questions: usize,
    pub answers: usize,
    pub comments: usize,
    pub webuis: usize,
    pub users: usize,
    pub votes: usize,
}

impl Default for Shape {
    fn default() -> Shape {
        Shape { questions: 2, answers: 2, comments: 2, webuis: 2, users: 1, votes: 1 }
    }
}

/// A whole stackwire: services, webui and one balancer, on a private registry
/// prefix and a private database.
pub struct Cluster {
    pub name: String,
    pub env: TestEnv,
    pub prefix: String,
    pub db_name: String,
    pub db_url: String,
    pub dir: PathBuf,
    pub procs: Vec<Proc>,
    pub balancer: Option<Proc>,
    /// Balancers started by [`Cluster::start_extra_balancer`].
    pub extra_balancers: Vec<Proc>,
    /// Environment every process of the cluster gets on top of the defaults.
    env_overrides: Vec<(String, String)>,
    /// Processes started so far by [`Cluster::restart_services`] and the
    /// first start, so a restarted instance's log file gets a fresh name.
    procs_started: usize,
}

/// Limits a test cluster runs with unless the test says otherwise: every
/// test signs its users up from 127.0.0.1, many more than one address may
/// in an hour (tests/tests/throttles.rs checks that limit with its own value).
const TEST_LIMITS: &[(&str, &str)] = &[("STACKWIRE_LIMIT_SIGNUPS_PER_ADDRESS", "1000")];

/// The CSRF secret every webui of a test cluster shares (scripts/lib.sh
/// generates a random one for start_all.sh; tests supply their own).
pub const CSRF_SECRET: &str = "5ec2e75ec2e75ec2e75ec2e75ec2e75e";

impl Cluster {
    /// Starts the cluster and waits until the balancer's catalog shows every instance.
    pub fn start(name: &str, shape: Shape) -> Cluster {
        Cluster::start_with(name, shape, &[])
    }

    /// [`Cluster::start`] with extra environment for every process (a limit, say).
    pub fn start_with(name: &str, shape: Shape, overrides: &[(&str, &str)]) -> Cluster {
        let env = TestEnv::get();
        let tag = format!("{name}_{}", std::process::id());
        let dir = env.log_dir.join(&tag);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("log dir");
        let db_name = format!("sw_{}", tag.replace('-', "_"));
        let db_url = create_database(&env.database_url, &db_name);
        let mut c = Cluster {
            name: name.to_string(),
            prefix: format!("test-{tag}"),
            env,
            db_name,
            db_url,
            dir,
            procs: Vec::new(),
            balancer: None,
            extra_balancers: Vec::new(),
            env_overrides: TEST_LIMITS.iter().chain(overrides).map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            procs_started: 0,
        };
        for _ in 0..shape.questions {
            c.start_service("question");
        }
        for _ in 0..shape.answers {
            c.start_service("answer");
        }
        for _ in 0..shape.comments {
            c.start_service("comment");
        }
        for _ in 0..shape.users {
            c.start_service("user");
        }
        for _ in 0..shape.votes {
            c.start_service("vote");
        }
        for _ in 0..shape.webuis {
            c.start_webui();
        }
        c.procs_started = c.procs.len();
        c.start_balancer();
        let expect = [
            ("Question", shape.questions),
            ("Answer", shape.answers),
            ("Comment", shape.comments),
            ("WebUI", shape.webuis),
            ("User", shape.users),
            ("Vote", shape.votes),
        ];
        wait_for("every instance in /webserv/services", Duration::from_secs(20), || {
            let cat = c.catalog();
            expect.iter().all(|(n, k)| c.instance_count(&cat, n) == *k).then_some(())
        });
        c
    }

    fn command(&self, bin: &str) -> Command {
        let mut cmd = Command::new(self.env.bin_dir.join(bin));
        cmd.env("STACKWIRE_REDIS_URL", &self.env.redis_url)
            .env("STACKWIRE_REGISTRY_PREFIX", &self.prefix)
            .env("STACKWIRE_DATABASE_URL", &self.db_url)
            .stdin(Stdio::null());
        for (k, v) in &self.env_overrides {
            cmd.env(k, v);
        }
        cmd
    }

    fn spawn(&self, label: &str, mut cmd: Command, stdout: Option<&Path>) -> Proc {
        match stdout {
            Some(p) => cmd.stdout(File::create(p).expect("stdout file")),
            None => cmd.stdout(Stdio::null()),
        };
        Proc::start(label, cmd, self.dir.join(format!("{label}.log")))
    }

    /// Starts one more instance of `question`, `answer`, `comment`, `user` or `vote`; returns its index in `procs`.
    pub fn start_service(&mut self, service: &str) -> usize {
        self.start_service_with(service, &[])
    }

    /// A service instance with `env` on top of the cluster's environment.
    pub fn start_service_with(&mut self, service: &str, env: &[(&str, &str)]) -> usize {
        let n = self.procs.iter().filter(|p| p.name.starts_with(service)).count() + 1;
        let mut cmd = self.service_command(service);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let p = self.spawn(&format!("{service}-{n}"), cmd, None);
        self.procs.push(p);
        self.procs.len() - 1
    }

    pub fn start_webui(&mut self) -> usize {
        self.start_webui_with(&[])
    }

    /// A webui with `env` on top of the cluster's environment (a page cache
    /// budget of its own, say).
    pub fn start_webui_with(&mut self, env: &[(&str, &str)]) -> usize {
        let n = self.procs.iter().filter(|p| p.name.starts_with("webui")).count() + 1;
        let mut cmd = self.webui_command();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let p = self.spawn(&format!("webui-{n}"), cmd, None);
        self.procs.push(p);
        self.procs.len() - 1
    }

    /// A service instance's command line: any port, and an admin listener
    /// (`/metrics`) on any port too.
    fn service_command(&self, service: &str) -> Command {
        let mut cmd = self.command("service");
        cmd.args(["--service", service, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
        cmd
    }

    fn webui_command(&self) -> Command {
        let mut cmd = self.command("webui");
        cmd.args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]).env("STACKWIRE_CSRF_SECRET", CSRF_SECRET);
        cmd
    }

    fn start_balancer(&mut self) {
        let mut cmd = self.command("balancer");
        cmd.args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
        let access = self.dir.join("balancer.access.log");
        let p = self.spawn("balancer", cmd, Some(&access));
        self.balancer = Some(p);
    }

    /// One more balancer on the same registry (a port of its own); returns its address.
    pub fn start_extra_balancer(&mut self) -> SocketAddr {
        let n = self.extra_balancers.len() + 2;
        let mut cmd = self.command("balancer");
        cmd.args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
        let access = self.dir.join(format!("balancer-{n}.access.log"));
        let p = self.spawn(&format!("balancer-{n}"), cmd, Some(&access));
        let addr = p.addr;
        self.extra_balancers.push(p);
        addr
    }

    pub fn balancer(&self) -> &Proc {
        self.balancer.as_ref().expect("balancer running")
    }

    /// `/status/json` from the balancer's admin listener.
    pub fn status_json(&self) -> serde_json::Value {
        let r = self.balancer().admin().get("/status/json");
        assert_eq!(r.status, 200, "/status/json: {}", r.text());
        r.json()
    }

    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("balancer.access.log")).unwrap_or_default()
    }

    pub fn http(&self) -> HttpClient {
        HttpClient::new(self.balancer().addr)
    }

    /// A client that sends `Authorization: Bearer <token>` on every request.
    pub fn http_as(&self, token: &str) -> HttpClient {
        self.http().with_token(token)
    }

    /// Signs up `username` (password `password-<username>`) and logs in;
    /// returns the bearer token. Panics with the reply when either step fails,
    /// so a broken account service shows up as the first failure of a test.
    pub fn signup_and_login(&self, username: &str) -> String {
        let password = format!("password-{username}");
        let http = self.http();
        let r = http.post_form("/webserv/user", &[("username", username), ("password", &password)]);
        assert_eq!(r.status, 201, "sign up {username}: {}", r.text());
        self.login(username)
    }

    /// Logs in an existing user created by `signup_and_login`; returns the token.
    pub fn login(&self, username: &str) -> String {
        let password = format!("password-{username}");
        let r = self.http().post_form("/webserv/user/login", &[("username", username), ("password", &password)]);
        assert_eq!(r.status, 200, "log in {username}: {}", r.text());
        r.json()["token"].as_str().unwrap_or_else(|| panic!("no token in {}", r.text())).to_string()
    }

    pub fn catalog(&self) -> serde_json::Value {
        let r = self.http().get("/webserv/services");
        assert_eq!(r.status, 200, "catalog: {}", r.text());
        r.json()
    }

    /// Instances listed under the service with display name `name`.
    pub fn instance_count(&self, catalog: &serde_json::Value, name: &str) -> usize {
        catalog_service(catalog, name).and_then(|s| s["instances"].as_array()).map(|a| a.len()).unwrap_or(0)
    }

    /// Instance ids of a service in the catalog.
    pub fn instance_addrs(&self, name: &str) -> Vec<String> {
        let cat = self.catalog();
        catalog_service(&cat, name)
            .and_then(|s| s["instances"].as_array())
            .map(|a| a.iter().filter_map(|i| i["addr"].as_str().map(String::from)).collect())
            .unwrap_or_default()
    }

    pub fn procs_named(&self, prefix: &str) -> Vec<&Proc> {
        self.procs.iter().filter(|p| p.name.starts_with(prefix)).collect()
    }

    /// Stops every service and webui instance gracefully, all at once (each
    /// leaves the registry, finishes its calls and exits 0, which also
    /// flushes its log); returns the stopped processes, logs still readable.
    pub fn stop_services(&mut self) -> Vec<Proc> {
        let mut old = std::mem::take(&mut self.procs);
        for p in &old {
            p.signal(libc::SIGTERM);
        }
        for p in &mut old {
            let code = p.wait_exit(Duration::from_secs(20));
            assert_eq!(code, Some(0), "{} did not stop cleanly:\n{}", p.name, p.log_text());
        }
        old
    }

    /// [`Cluster::stop_services`], then the same number of each started
    /// again: fresh processes with fresh database connections (which is what
    /// makes new per-database settings apply). Returns the stopped processes
    /// once the balancer's catalog lists exactly the new instances.
    pub fn restart_services(&mut self) -> Vec<Proc> {
        let old = self.stop_services();
        for p in &old {
            let kind = p.name.rsplit_once('-').map_or(p.name.as_str(), |(kind, _)| kind);
            self.procs_started += 1;
            let label = format!("{kind}-{}", self.procs_started);
            let cmd = if kind == "webui" { self.webui_command() } else { self.service_command(kind) };
            let p = self.spawn(&label, cmd, None);
            self.procs.push(p);
        }
        let want: std::collections::BTreeSet<String> = self.procs.iter().map(|p| p.addr.to_string()).collect();
        wait_for("the catalog to list exactly the restarted instances", Duration::from_secs(20), || {
            let cat = self.catalog();
            let listed: std::collections::BTreeSet<String> = cat["services"]
                .as_array()?
                .iter()
                .filter(|s| s["name"] != "Balancer")
                .flat_map(|s| s["instances"].as_array().cloned().unwrap_or_default())
                .filter_map(|i| i["addr"].as_str().map(String::from))
                .collect();
            (listed == want).then_some(())
        });
        old
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.balancer.take();
        self.extra_balancers.clear();
        for p in &self.procs {
            // SIGCONT first, so a test that stopped a process cannot leave it frozen.
            p.signal(libc::SIGCONT);
        }
        self.procs.clear();
        drop_database(&self.env.database_url, &self.db_name);
    }
}

pub fn catalog_service<'a>(catalog: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    catalog["services"].as_array()?.iter().find(|s| s["name"] == name)
}

/// `url` with its database name replaced by `db` (parameters kept).
pub fn with_database(url: &str, db: &str) -> String {
    // postgresql://user:pw@host:port/dbname[?params]
    let (base, params) = match url.split_once('?') {
        Some((b, p)) => (b, Some(p)),
        None => (url, None),
    };
    let cut = base.rfind('/').expect("database URL has a path");
    let mut out = format!("{}/{db}", &base[..cut]);
    if let Some(p) = params {
        out.push('?');
        out.push_str(p);
    }
    out
}

fn create_database(admin_url: &str, db: &str) -> String {
    let mut c = postgres::Client::connect(admin_url, postgres::NoTls).expect("connect to the test PostgreSQL");
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {db}")).expect("drop old test database");
    c.batch_execute(&format!("CREATE DATABASE {db}")).expect("create test database");
    with_database(admin_url, db)
}

fn drop_database(admin_url: &str, db: &str) {
    if let Ok(mut c) = postgres::Client::connect(admin_url, postgres::NoTls) {
        let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    }
}
