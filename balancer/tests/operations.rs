//! Operating the balancer: `/metrics` parsed as strict Prometheus text and
//! seen to move, `/healthz` through a drain, configuration from a file, the
//! environment and flags, `--help`, and SIGTERM under load losing nothing.

mod common;

use common::{admin_addr, admin_get, get, request, wait_for, Backend, Balancer, Echo, Reader};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One sample: metric name, sorted labels, value.
type Series = (String, Vec<(String, String)>);

/// A strict parser for the Prometheus text exposition format (0.0.4): HELP
/// and TYPE lines, samples with optional labels, escapes in label values,
/// one TYPE per family before its samples, no duplicate series, and for
/// histograms cumulative buckets ending in `+Inf` equal to `_count`.
fn parse_prometheus(text: &str) -> BTreeMap<Series, f64> {
    let name_ok = |n: &str| {
        let mut c = n.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
    };
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples: BTreeMap<Series, f64> = BTreeMap::new();
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for (no, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", no + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, arg) = (parts.next().unwrap(), parts.next().expect(&at), parts.next().unwrap_or(""));
            assert!(name_ok(name), "{at}: bad metric name");
            match kind {
                "HELP" => assert!(!arg.is_empty(), "{at}: empty help"),
                "TYPE" => {
                    assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&arg), "{at}");
                    assert!(types.insert(name.to_string(), arg.to_string()).is_none(), "{at}: second TYPE");
                }
                _ => panic!("{at}: unknown comment kind"),
            }
            continue;
        }
        assert!(!line.is_empty() && !line.starts_with('#'), "{at}");
        let (series, value) = match line.find('{') {
            Some(open) => {
                let close = line.rfind('}').expect(&at);
                let name = &line[..open];
                let labels = parse_labels(&line[open + 1..close], &at);
                ((name.to_string(), labels), line[close + 1..].trim_start())
            }
            None => {
                let (name, value) = line.split_once(' ').expect(&at);
                ((name.to_string(), Vec::new()), value)
            }
        };
        assert!(name_ok(&series.0), "{at}: bad metric name");
        let value = value.split(' ').next().unwrap();
        let v: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| panic!("{at}: value {v:?}")),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| series.0.strip_suffix(s).filter(|f| types.get(*f).is_some_and(|t| t == "histogram")))
            .unwrap_or(&series.0)
            .to_string();
        let t = types.get(&family).unwrap_or_else(|| panic!("{at}: sample before its TYPE"));
        if t == "counter" {
            assert!(v >= 0.0, "{at}: negative counter");
        }
        assert!(samples.insert(series, v).is_none(), "{at}: duplicate series");
    }
    for (family, t) in &types {
        if t != "histogram" {
            continue;
        }
        let mut buckets: Vec<(f64, f64)> = samples
            .iter()
            .filter(|((n, _), _)| *n == format!("{family}_bucket"))
            .map(|((_, l), v)| {
                let le = &l.iter().find(|(k, _)| k == "le").expect("bucket without le").1;
                (if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() }, *v)
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{family}: buckets not cumulative");
        let inf = buckets.last().expect("buckets").1;
        assert_eq!(buckets.last().unwrap().0, f64::INFINITY, "{family}: no +Inf bucket");
        assert_eq!(samples[&(format!("{family}_count"), vec![])], inf, "{family}: +Inf bucket != count");
        assert!(samples.contains_key(&(format!("{family}_sum"), vec![])), "{family}: no _sum");
    }
    samples
}

fn parse_labels(text: &str, at: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{at}: label syntax"));
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.is_empty(), "{at}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().unwrap_or_else(|| panic!("{at}: unterminated label value")) {
                (i, '"') => break i,
                (_, '\\') => match chars.next().map(|c| c.1) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => panic!("{at}: bad escape {other:?}"),
                },
                (_, c) => value.push(c),
            }
        };
        out.push((name.to_string(), value));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    out.sort();
    out
}

fn value(m: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut l: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    l.sort();
    m.get(&(name.to_string(), l)).copied().unwrap_or(0.0)
}

#[test]
fn metrics_parse_as_prometheus_text_and_move() {
    let a = Backend::start("a");
    let bal = Balancer::start(&["--upstream", &a.url(), "--admin", "127.0.0.1:0", "--loops", "2"]);
    let admin = admin_addr(&bal);
    let (status, text) = admin_get(admin, "/metrics");
    assert_eq!(status, 200);
    let before = parse_prometheus(&text);
    let ok = ("stackwire_balancer_requests_total", [("service", "webui"), ("status", "200")]);
    for i in 0..20 {
        assert_eq!(get(&bal, &format!("/m/{i}")).status, 200);
    }
    let (_, bad) = (0, request(&bal, "GET / HTTP/1.1\r\n\r\n"));
    assert_eq!(bad.status, 400);
    // A held connection shows up as open.
    let mut held = Reader::new(bal.connect());
    held.send(b"GET /held HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(held.response(false).status, 200);
    let after = wait_for("the counters to move", Duration::from_secs(5), || {
        let m = parse_prometheus(&admin_get(admin, "/metrics").1);
        (value(&m, ok.0, &ok.1) - value(&before, ok.0, &ok.1) == 21.0).then_some(m)
    });
    let d = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    assert_eq!(d("stackwire_balancer_requests_total", &[("service", "none"), ("status", "400")]), 1.0);
    assert_eq!(d("stackwire_balancer_request_duration_seconds_count", &[]), 22.0);
    assert!(d("stackwire_balancer_request_duration_seconds_sum", &[]) > 0.0);
    assert_eq!(d("stackwire_balancer_connections_accepted_total", &[]), 22.0);
    assert_eq!(value(&after, "stackwire_balancer_requests_in_flight", &[]), 0.0);
    assert!(value(&after, "stackwire_balancer_client_connections", &[]) >= 1.0);
    let connects = value(&after, "stackwire_balancer_upstream_connects_total", &[]);
    assert_eq!(connects, a.conns() as f64, "the balancer counts the connections the upstream accepted");
    assert!(connects <= 2.0, "pooled: {connects} connects for 21 requests");
    assert!(value(&after, "stackwire_balancer_upstream_connections", &[]) >= 1.0, "pooled connections are open");
    for kind in ["header", "body", "upstream_connect", "upstream_response", "idle"] {
        assert!(after.contains_key(&("stackwire_balancer_timeouts_total".into(), vec![("kind".into(), kind.into())])));
    }
    let (status, body) = admin_get(admin, "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert_eq!(admin_get(admin, "/nope").0, 404);
}

#[test]
fn timeouts_and_connect_errors_are_counted() {
    let a = Backend::start("a");
    let dead = testkit::refused_addr();
    let bal = Balancer::start(&[
        "--upstream",
        &a.url(),
        "--upstream",
        &format!("http://{dead}"),
        "--admin",
        "127.0.0.1:0",
        "--upstream-timeout-ms",
        "300",
        "--header-timeout-ms",
        "300",
        "--balance",
        "round-robin",
    ]);
    let admin = admin_addr(&bal);
    assert_eq!(get(&bal, "/slow?ms=1000").status, 504);
    assert_eq!(get(&bal, "/x").status, 200);
    let mut s = bal.connect();
    s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 408 "), "{out}");
    let m = parse_prometheus(&admin_get(admin, "/metrics").1);
    assert_eq!(value(&m, "stackwire_balancer_timeouts_total", &[("kind", "upstream_response")]), 1.0);
    assert_eq!(value(&m, "stackwire_balancer_timeouts_total", &[("kind", "header")]), 1.0);
    assert!(value(&m, "stackwire_balancer_upstream_connect_errors_total", &[]) >= 1.0, "the dead upstream");
    assert_eq!(value(&m, "stackwire_balancer_requests_total", &[("service", "webui"), ("status", "504")]), 1.0);
}

#[test]
fn configuration_from_file_environment_and_flags() {
    let (a, b, c) = (Backend::start("a"), Backend::start("b"), Backend::start("c"));
    let dir = std::env::temp_dir().join(format!("balancer-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("balancer.conf");
    std::fs::write(&file, format!("# from the file\nupstream = \"{}\"\nidle-timeout-ms = 250\n", a.url())).unwrap();
    let conf = file.to_str().unwrap();
    // The file alone.
    let bal = Balancer::start(&["--config", conf]);
    assert_eq!(get(&bal, "/f").echo("backend").as_deref(), Some("a"));
    let mut r = Reader::new(bal.connect());
    r.send(b"GET /k HTTP/1.1\r\nHost: t\r\n\r\n");
    r.response(false);
    let t = Instant::now();
    assert!(r.closed() && t.elapsed() < Duration::from_millis(1500), "idle-timeout-ms from the file");
    drop(bal);
    // The environment beats the file; a flag beats both.
    let env_up = b.url();
    let bal = Balancer::start_env(&["--config", conf], &[("STACKWIRE_BALANCER_UPSTREAM", &env_up)]);
    assert_eq!(get(&bal, "/e").echo("backend").as_deref(), Some("b"));
    drop(bal);
    let bal =
        Balancer::start_env(&["--config", conf, "--upstream", &c.url()], &[("STACKWIRE_BALANCER_UPSTREAM", &env_up)]);
    assert_eq!(get(&bal, "/c").echo("backend").as_deref(), Some("c"));
    drop(bal);
    // Bad values fail at once, naming where they came from.
    let run = |args: &[&str], env: &[(&str, &str)]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_balancer"))
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    std::fs::write(&file, "workers = \"lots\"\n").unwrap();
    let out = run(&["--config", conf], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("balancer.conf:1: workers") && err.contains("\"lots\""), "{err}");
    let out = run(&["--upstream", &a.url()], &[("STACKWIRE_BALANCER_BALANCE", "random")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("STACKWIRE_BALANCER_BALANCE") && err.contains("p2c-ewma"), "{err}");
    let out = run(&["--upstream", &a.url()], &[("STACKWIRE_BALANCER_MAX_CONNECTIONZ", "5")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such setting"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_every_setting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_balancer")).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--upstream",
        "--routes",
        "--workers",
        "--header-timeout-ms",
        "--idle-timeout-ms",
        "--upstream-timeout-ms",
        "--connect-timeout-ms",
        "--drain-timeout-ms",
        "--max-connections",
        "--loops",
        "--balance",
        "--admin",
        "--config",
        "STACKWIRE_BALANCER_",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}

#[test]
fn sigterm_under_load_loses_no_request_in_flight() {
    let a = Backend::start("a");
    let mut bal = Balancer::start(&["--upstream", &a.url(), "--admin", "127.0.0.1:0", "--loops", "2"]);
    let admin = admin_addr(&bal);
    let addr = bal.addr;
    let n = 60;
    let clients: Vec<_> = (0..n)
        .map(|i| {
            std::thread::spawn(move || {
                let s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
                let mut r = Reader::new(s);
                r.send(format!("GET /slow?ms=1200&i={i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
                let resp = r.response(false);
                (resp.status, resp.header("connection").map(String::from), resp.echo("path"))
            })
        })
        .collect();
    wait_for("every request to reach the backend", Duration::from_secs(10), || (a.hits() == n).then_some(()));
    bal.signal(libc::SIGTERM);
    wait_for("/healthz to say draining", Duration::from_secs(5), || {
        (admin_get(admin, "/healthz").0 == 503).then_some(())
    });
    wait_for("new connections to be refused", Duration::from_secs(5), || {
        TcpStream::connect(addr).is_err().then_some(())
    });
    for (i, c) in clients.into_iter().enumerate() {
        let (status, connection, path) = c.join().unwrap();
        assert_eq!(status, 200, "request {i} lost");
        assert_eq!(connection.as_deref(), Some("close"), "request {i}");
        assert_eq!(path.as_deref(), Some(format!("/slow?ms=1200&i={i}").as_str()));
    }
    assert_eq!(bal.wait_exit(Duration::from_secs(10)), Some(0));
    assert_eq!(a.hits(), n, "nothing was sent twice");
}
