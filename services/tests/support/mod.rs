//! Test scaffolding: a private PostgreSQL schema and registry prefix per run,
//! real `service` processes started and stopped by signal, and a helper that
//! speaks `Web/Handle` the way the balancer does.
//!
//! Every wait polls a condition (a log line, the registry listing, a process
//! exit) with a deadline; nothing sleeps and hopes. On a failing test the
//! processes' logs are printed (always, with `SERVICES_E2E_SHOW_LOGS=1`), and every process and the schema are removed
//! whatever happens.

use proto::pb::{Header, HttpRequest, HttpResponse};
use proto::Connection;
use registry_agent::RegistryConfig;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use testkit::poll;

const START_DEADLINE: Duration = Duration::from_secs(40);

/// Where this run keeps its data.
pub struct Env {
    db_url: String,
    redis_url: String,
    schema: String,
    prefix: String,
    admin: Mutex<postgres::Client>,
}

impl Env {
    /// `None` when the test servers are not configured.
    pub fn from_env() -> Option<Env> {
        let db_url = std::env::var("STACKWIRE_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())?;
        let redis_url = std::env::var("STACKWIRE_TEST_REDIS_URL").ok().filter(|s| !s.is_empty())?;
        let tag = format!("{}_{}", std::process::id(), proto::clock::now_ms());
        let schema = format!("svc_e2e_{tag}");
        let mut admin = postgres::Client::connect(&db_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to STACKWIRE_TEST_DATABASE_URL: {e}"));
        admin
            .batch_execute(&format!("CREATE SCHEMA \"{schema}\"; SET search_path TO \"{schema}\""))
            .expect("create the test schema");
        Some(Env { db_url, redis_url, schema, prefix: format!("svc-e2e-{tag}"), admin: Mutex::new(admin) })
    }

    /// The database URL the services get: the test database, our schema.
    fn service_db_url(&self) -> String {
        let sep = if self.db_url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.db_url, self.schema)
    }

    fn registry(&self) -> RegistryConfig {
        let mut cfg = RegistryConfig::new(&self.redis_url);
        cfg.prefix = self.prefix.clone();
        cfg
    }

    pub fn sql_count(&self, sql: &str) -> i64 {
        self.admin.lock().unwrap().query_one(sql, &[]).expect(sql).get(0)
    }

    /// Inserts an answer to a question that does not exist, as the answer
    /// service's store does, and reports whether it was refused by the key.
    pub fn insert_orphan_answer_is_fk_violation(&self, question_id: i64) -> bool {
        let mut admin = self.admin.lock().unwrap();
        match services::store::answers::create(&mut *admin, question_id, "orphan", None, &services::ANSWER_LIMIT) {
            Ok(services::store::Quoted::Made(a)) => panic!("orphan answer {a:?} was stored"),
            Ok(services::store::Quoted::Full { n, .. }) => panic!("no author, yet {n} posts in the limit"),
            Err(e) => e.is_foreign_key_violation(),
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let mut admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema)) {
            eprintln!("could not drop schema {}: {e}", self.schema);
        }
    }
}

struct Proc {
    name: String,
    child: Child,
    addr: Option<std::net::SocketAddr>,
    reader: Option<JoinHandle<()>>,
}

/// Running `service` processes.
pub struct Cluster {
    procs: Vec<Proc>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Cluster {
    /// Starts one process per entry of `kinds`, all at once, and returns when
    /// every one is listening and registered.
    pub fn start(env: &Env, kinds: &[&str]) -> Cluster {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut cluster = Cluster { procs: Vec::new(), lines: lines.clone() };
        for (i, kind) in kinds.iter().enumerate() {
            let mut child = Command::new(env!("CARGO_BIN_EXE_service"))
                .args(["--service", kind, "--listen", "127.0.0.1:0"])
                .env("STACKWIRE_DATABASE_URL", env.service_db_url())
                .env("STACKWIRE_REDIS_URL", &env.redis_url)
                .env("STACKWIRE_REGISTRY_PREFIX", &env.prefix)
                .env("STACKWIRE_DB_POOL_SIZE", "2")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn service");
            let name = format!("{kind}#{i}");
            let stderr = child.stderr.take().expect("piped stderr");
            let (l, n) = (lines.clone(), name.clone());
            let reader = std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    l.lock().unwrap().push(format!("[{n}] {line}"));
                }
            });
            cluster.procs.push(Proc { name, child, addr: None, reader: Some(reader) });
        }
        let deadline = Instant::now() + START_DEADLINE;
        let started = poll(START_DEADLINE, || {
            for i in 0..cluster.procs.len() {
                if cluster.procs[i].addr.is_none() {
                    cluster.procs[i].addr = cluster.listening_addr(i);
                }
                if let Ok(Some(status)) = cluster.procs[i].child.try_wait() {
                    panic!("{} exited at start ({status})\n{}", cluster.procs[i].name, cluster.logs());
                }
            }
            cluster.procs.iter().all(|p| p.addr.is_some()).then_some(())
        });
        assert!(started.is_some(), "services did not start\n{}", cluster.logs());
        // Registered: the registry lists every instance.
        let cfg = env.registry();
        let mut listed = Ok(0);
        let registered = poll(deadline.saturating_duration_since(Instant::now()), || {
            listed = registry_agent::list_once(&cfg).map(|m| m.values().map(|v| v.len()).sum::<usize>());
            listed.as_ref().is_ok_and(|n| *n == kinds.len()).then_some(())
        });
        assert!(registered.is_some(), "registry lists {listed:?} of {}\n{}", kinds.len(), cluster.logs());
        cluster
    }

    fn listening_addr(&self, i: usize) -> Option<std::net::SocketAddr> {
        let prefix = format!("[{}] ", self.procs[i].name);
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|l| l.starts_with(&prefix)).find_map(|l| testkit::listening_addr(l))
    }

    pub fn conn(&self, i: usize) -> Connection {
        let addr = self.procs[i].addr.expect("started");
        Connection::connect(addr, Duration::from_secs(2), proto::frame::DEFAULT_MAX_MESSAGE).expect("connect")
    }

    /// SIGTERM, then the exit code (None if it did not exit within 15 s or died by a signal).
    pub fn terminate(&mut self, i: usize) -> Option<i32> {
        let p = &mut self.procs[i];
        let sent = Command::new("kill").args(["-TERM", &p.child.id().to_string()]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {}", p.name);
        let code = testkit::wait_exit(&mut p.child, Duration::from_secs(15));
        // Its last lines are in once the pipe is drained.
        if let Some(r) = p.reader.take() {
            let _ = r.join();
        }
        code
    }

    pub fn log_count(&self, needle: &str) -> usize {
        self.lines.lock().unwrap().iter().filter(|l| l.contains(needle)).count()
    }

    pub fn logs(&self) -> String {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in &mut self.procs {
            if let Ok(None) = p.child.try_wait() {
                let _ = p.child.kill();
                let _ = p.child.wait();
            }
        }
        if std::thread::panicking() || std::env::var_os("SERVICES_E2E_SHOW_LOGS").is_some() {
            eprintln!("---- service logs ----\n{}", self.logs());
        }
    }
}

/// One anonymous HTTP request through `Web/Handle`: (status, JSON body or Null, headers).
pub fn web(
    c: &Connection,
    method: &str,
    path: &str,
    query: &str,
    ct: Option<&str>,
    body: &str,
) -> (u16, Value, Vec<Header>) {
    web_as(c, None, method, path, query, ct, body)
}

/// The same with `Authorization: Bearer <token>` when a token is given.
pub fn web_as(
    c: &Connection,
    token: Option<&str>,
    method: &str,
    path: &str,
    query: &str,
    ct: Option<&str>,
    body: &str,
) -> (u16, Value, Vec<Header>) {
    let jid = proto::ids::new_request_id();
    let mut headers: Vec<Header> =
        ct.map(|v| vec![Header { name: "Content-Type".into(), value: v.as_bytes().to_vec() }]).unwrap_or_default();
    if let Some(t) = token {
        headers.push(Header { name: "Authorization".into(), value: format!("Bearer {t}").into_bytes() });
    }
    let req = HttpRequest {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: body.as_bytes().to_vec(),
        client_addr: "127.0.0.1:1".into(),
        request_id: jid.clone(),
    };
    let resp: HttpResponse = c
        .unary(proto::methods::WEB_HANDLE, &jid, Duration::from_secs(10), &req)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let json = if resp.body.is_empty() { Value::Null } else { serde_json::from_slice(&resp.body).expect("JSON body") };
    assert_eq!(header(&resp.headers, "content-type").as_deref(), Some("application/json"), "{method} {path}");
    (resp.status as u16, json, resp.headers)
}

pub fn header(headers: &[Header], name: &str) -> Option<String> {
    headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(&h.value).into_owned())
}
