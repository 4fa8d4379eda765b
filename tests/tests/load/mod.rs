//! A steady load client for failure tests: GETs of pages through the
//! balancer, and answer POSTs, each with its own `Idempotency-Key`, repeated
//! with the same key until they get an answer.
//!
//! Every request opens its own connection (so a killed balancer can only
//! break the requests that were open on it) and never panics: each outcome
//! is recorded with its start and end time, so a test can tell a failure
//! that happened while something was being killed from one that did not.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub enum Outcome {
    /// A complete response with this status.
    Status(u16, String),
    /// The connect failed (nothing was sent).
    Refused(String),
    /// The connection broke before a complete response.
    Broken(String),
}

#[derive(Debug, Clone)]
pub struct Record {
    pub method: &'static str,
    pub path: String,
    pub started: Instant,
    pub ended: Instant,
    pub outcome: Outcome,
}

impl Record {
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Status(s, _) if (200..400).contains(&s))
    }

    /// One line for a failure message: method, path, outcome, body cut short.
    pub fn summary(&self) -> String {
        let (what, text) = match &self.outcome {
            Outcome::Status(s, body) => (s.to_string(), body.as_str()),
            Outcome::Refused(e) => ("refused".to_string(), e.as_str()),
            Outcome::Broken(e) => ("broken".to_string(), e.as_str()),
        };
        let cut: String = text.chars().take(160).collect();
        format!("{} {} -> {what}: {cut}", self.method, self.path)
    }
}

/// One request on a fresh connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Outcome {
    let mut s = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: load\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    if let Err(e) = s.write_all(&bytes) {
        return Outcome::Broken(format!("write: {e}"));
    }
    let mut out = Vec::new();
    if let Err(e) = s.read_to_end(&mut out) {
        if out.is_empty() {
            return Outcome::Broken(format!("read: {e}"));
        }
    }
    match testkit::http::parse_reply(&out) {
        Some(r) => {
            let complete =
                r.header("content-length").and_then(|v| v.parse::<usize>().ok()).is_none_or(|n| r.body.len() == n);
            if complete {
                Outcome::Status(r.status, r.text())
            } else {
                Outcome::Broken(format!("short body ({} bytes)", r.body.len()))
            }
        }
        None => Outcome::Broken(format!("no response ({} bytes)", out.len())),
    }
}

/// A set of load threads; `stop` returns every record.
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    pub records: Arc<Mutex<Vec<Record>>>,
    /// Answers whose POST got a 2xx: (idempotency key, answer id, index of the token used).
    pub created: Arc<Mutex<Vec<(String, i64, usize)>>>,
    pub posts_sent: Arc<AtomicUsize>,
    /// How long a GET waits for its response (10 s unless set).
    get_timeout: Duration,
}

/// Where the load goes; a test may switch it while the load runs.
pub type Target = Arc<Mutex<SocketAddr>>;

impl Load {
    pub fn new() -> Load {
        Load {
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
            records: Arc::new(Mutex::new(Vec::new())),
            created: Arc::new(Mutex::new(Vec::new())),
            posts_sent: Arc::new(AtomicUsize::new(0)),
            get_timeout: Duration::from_secs(10),
        }
    }

    /// GETs started after this give up after `timeout` (a visitor's patience).
    pub fn get_timeout(&mut self, timeout: Duration) {
        self.get_timeout = timeout;
    }

    /// A thread that GETs `paths` in turn, one every `pause`.
    pub fn gets(&mut self, target: Target, paths: Vec<String>, pause: Duration) {
        let (stop, records, timeout) = (self.stop.clone(), self.records.clone(), self.get_timeout);
        self.threads.push(std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let path = &paths[i % paths.len()];
                i += 1;
                let addr = *target.lock().unwrap();
                let started = Instant::now();
                let outcome = request(addr, "GET", path, &[], b"", timeout);
                let r = Record { method: "GET", path: path.clone(), started, ended: Instant::now(), outcome };
                records.lock().unwrap().push(r);
                std::thread::sleep(pause);
            }
        }));
    }

    /// A thread that POSTs answers to `question_id`, one every `pause`, each
    /// with its own Idempotency-Key, repeating a failed one (same key) until
    /// it gets a 2xx or a 4xx. `tokens` are bearer tokens used in turn (none:
    /// no login); `tag` makes keys and bodies unique to this thread.
    pub fn answer_posts(&mut self, target: Target, question_id: i64, tokens: Vec<String>, tag: &str, pause: Duration) {
        let (stop, records, created, sent) =
            (self.stop.clone(), self.records.clone(), self.created.clone(), self.posts_sent.clone());
        let tag = tag.to_string();
        self.threads.push(std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let key = format!("chaos-{tag}-{n}-{}", std::process::id());
                let body = testkit::http::form(&[
                    ("question_id", &question_id.to_string()),
                    ("body", &format!("answer {key}")),
                ]);
                let who = n % tokens.len().max(1);
                let auth = tokens.get(who).map(|t| format!("Bearer {t}"));
                sent.fetch_add(1, Ordering::Relaxed);
                // Retried with the same key until answered; a client that
                // stops retrying never learns whether its answer exists.
                for attempt in 0..40 {
                    let mut headers =
                        vec![("Content-Type", "application/x-www-form-urlencoded"), ("Idempotency-Key", key.as_str())];
                    if let Some(a) = &auth {
                        headers.push(("Authorization", a.as_str()));
                    }
                    let addr = *target.lock().unwrap();
                    let started = Instant::now();
                    let outcome =
                        request(addr, "POST", "/webserv/answer", &headers, body.as_bytes(), Duration::from_secs(10));
                    let done = match &outcome {
                        Outcome::Status(s, text) if (200..300).contains(s) => {
                            let id = serde_json::from_str::<serde_json::Value>(text)
                                .ok()
                                .and_then(|v| v["id"].as_i64())
                                .unwrap_or(-1);
                            created.lock().unwrap().push((key.clone(), id, who));
                            true
                        }
                        // A 429 (rate limit) and a 409 (the same key still in
                        // flight) are worth waiting for; other 4xx are final.
                        Outcome::Status(s, _) if (400..500).contains(s) && *s != 429 && *s != 409 => true,
                        _ => false,
                    };
                    records.lock().unwrap().push(Record {
                        method: "POST",
                        path: format!("/webserv/answer#{key}#{attempt}"),
                        started,
                        ended: Instant::now(),
                        outcome,
                    });
                    if done || stop.load(Ordering::Relaxed) && attempt > 20 {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                std::thread::sleep(pause);
            }
        }));
    }

    pub fn stop(mut self) -> (Vec<Record>, Vec<(String, i64, usize)>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let records = std::mem::take(&mut *self.records.lock().unwrap());
        let created = std::mem::take(&mut *self.created.lock().unwrap());
        (records, created)
    }
}

/// The chaos tests' load on question `qid`: three threads GETting its JSON,
/// its page, the first page of the listing and the front page (one every
/// 25 ms each), and one answer-POST thread per `(tag, pause)` of `posters`,
/// using `tokens` in turn. Returns once it has run for 2 s, so what a test
/// does next happens under a load already at its pace.
pub fn on_question(target: Target, qid: i64, tokens: &[String], posters: &[(&str, Duration)]) -> Load {
    let mut load = Load::new();
    let pages = vec![
        format!("/webserv/question/{qid}"),
        format!("/questions/{qid}"),
        "/webserv/question?page=1".into(),
        "/".into(),
    ];
    for _ in 0..3 {
        load.gets(target.clone(), pages.clone(), Duration::from_millis(25));
    }
    for (tag, pause) in posters {
        load.answer_posts(target.clone(), qid, tokens.to_vec(), tag, *pause);
    }
    std::thread::sleep(Duration::from_secs(2));
    load
}

/// What became of the answers a load posted to question `qid`.
pub struct Stored {
    /// Rows of the question's answers.
    pub rows: i64,
    /// Keys of acknowledged answers that have no row.
    pub missing: Vec<String>,
    /// Answer bodies stored more than once, with their count.
    pub doubled: Vec<(String, i64)>,
}

/// Reads question `qid`'s answers from PostgreSQL and holds them against
/// `created` (from [`Load::stop`]): each acknowledged one must be there, once.
pub fn stored_answers(db_url: &str, qid: i64, created: &[(String, i64, usize)]) -> Stored {
    let mut db = postgres::Client::connect(db_url, postgres::NoTls).unwrap();
    let rows = db.query("SELECT body, count(*) FROM answers WHERE question_id = $1 GROUP BY body", &[&qid]).unwrap();
    let stored: HashMap<String, i64> = rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1))).collect();
    Stored {
        rows: stored.values().sum(),
        missing: created
            .iter()
            .map(|(k, ..)| k)
            .filter(|k| !stored.contains_key(&format!("answer {k}")))
            .cloned()
            .collect(),
        doubled: stored.into_iter().filter(|(_, n)| *n > 1).collect(),
    }
}

impl Stored {
    /// Asserts that every acknowledged answer is stored, and none twice.
    pub fn assert_each_once(&self) {
        assert!(self.missing.is_empty(), "acknowledged answers missing from PostgreSQL: {:?}", self.missing);
        assert!(self.doubled.is_empty(), "answers stored twice: {:?}", self.doubled);
    }
}

/// Asserts that no GET failed: `failed` is [`failed_gets`]' second list;
/// the message shows the first five.
pub fn assert_no_failed_gets(failed: &[Record]) {
    let shown: Vec<String> = failed.iter().take(5).map(|r| r.summary()).collect();
    assert!(failed.is_empty(), "{} GETs failed, e.g. {shown:#?}", failed.len());
}

impl Default for Load {
    fn default() -> Self {
        Load::new()
    }
}

/// GET records that failed, split into those open on a balancer killed at
/// one of `balancer_kills` (started before, ended after) and the rest.
pub fn failed_gets(records: &[Record], balancer_kills: &[Instant]) -> (Vec<Record>, Vec<Record>) {
    let mut on_killed = Vec::new();
    let mut failed = Vec::new();
    for r in records.iter().filter(|r| r.method == "GET" && !r.ok()) {
        let connection_level = matches!(r.outcome, Outcome::Broken(_));
        if connection_level && balancer_kills.iter().any(|k| r.started <= *k && r.ended >= *k) {
            on_killed.push(r.clone());
        } else {
            failed.push(r.clone());
        }
    }
    (on_killed, failed)
}
