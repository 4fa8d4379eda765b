//! `highlight_bench`: start-up, memory and per-snippet cost of one
//! highlighting engine (chosen by the crate feature it is built with).
//! Prints one line: engine, ms to be ready to highlight (loading grammars
//! and themes), RSS after that and after highlighting, µs per snippet.

use std::time::Instant;

// The webui's files as they are; the bench uses only part of their API.
#[cfg(feature = "own")]
#[allow(dead_code)]
#[path = "../../../../webui/src/highlight.rs"]
mod highlight;
#[cfg(feature = "own")]
#[path = "../../../../webui/src/highlight_langs.rs"]
mod highlight_langs;
#[cfg(feature = "own")]
mod html {
    pub fn escape(s: &str) -> String {
        let mut o = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '&' => o.push_str("&amp;"),
                '<' => o.push_str("&lt;"),
                '>' => o.push_str("&gt;"),
                '"' => o.push_str("&quot;"),
                '\'' => o.push_str("&#39;"),
                c => o.push(c),
            }
        }
        o
    }
}

const RUST: &str = "use std::io::Read;\n\n/// Reads one frame.\nfn read_frame(s: &mut impl Read) -> std::io::Result<Vec<u8>> {\n    let mut head = [0u8; 5];\n    s.read_exact(&mut head)?;\n    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;\n    if len > 4 << 20 { return Err(std::io::Error::other(\"too long\")); }\n    let mut body = vec![0; len];\n    s.read_exact(&mut body)?;\n    println!(\"{} bytes\", body.len());\n    Ok(body)\n}\n";
const PYTHON: &str = "import socket\n\n@dataclass\nclass Frame:\n    \"\"\"One frame.\"\"\"\n    def read(self, sock: socket.socket) -> bytes:\n        head = sock.recv(5)  # prefix\n        n = int.from_bytes(head[1:], 'big')\n        if n > 4 << 20:\n            raise ValueError(f\"too long: {n}\")\n        return sock.recv(n)\n";
const JS: &str = "const net = require('net');\n// read one frame\nfunction readFrame(buf) {\n  const len = buf.readUInt32BE(1);\n  if (len > 4 << 20) throw new Error(`too long: ${len}`);\n  return buf.subarray(5, 5 + len);\n}\nmodule.exports = { readFrame };\n";

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn report(engine: &str, ready_ms: f64, rss_ready: u64, per_snippet_us: f64, out_len: usize) {
    println!(
        "engine={engine} ready_ms={ready_ms:.2} rss_ready_kb={rss_ready} rss_after_kb={} per_snippet_us={per_snippet_us:.1} out_bytes={out_len}",
        rss_kb()
    );
}

const ROUNDS: usize = 300;

#[cfg(feature = "own")]
fn main() {
    let t = Instant::now();
    let langs = [highlight::Lang::Rust, highlight::Lang::Python, highlight::Lang::JavaScript];
    let ready = t.elapsed().as_secs_f64() * 1e3;
    let rss = rss_kb();
    let t = Instant::now();
    let mut n = 0;
    for _ in 0..ROUNDS {
        for (lang, code) in langs.iter().zip([RUST, PYTHON, JS]) {
            n += highlight::highlight(*lang, code).len();
        }
    }
    report("own", ready, rss, t.elapsed().as_secs_f64() * 1e6 / (ROUNDS * 3) as f64, n / ROUNDS);
}

#[cfg(feature = "syntect")]
fn main() {
    use syntect::html::{ClassStyle, ClassedHTMLGenerator};
    use syntect::parsing::SyntaxSet;
    use syntect::util::LinesWithEndings;
    let t = Instant::now();
    let ss = SyntaxSet::load_defaults_newlines();
    let ready = t.elapsed().as_secs_f64() * 1e3;
    let rss = rss_kb();
    let t = Instant::now();
    let mut n = 0;
    for _ in 0..ROUNDS {
        for (ext, code) in [("rs", RUST), ("py", PYTHON), ("js", JS)] {
            let syntax = ss.find_syntax_by_extension(ext).expect("syntax");
            let mut g = ClassedHTMLGenerator::new_with_class_style(syntax, &ss, ClassStyle::Spaced);
            for line in LinesWithEndings::from(code) {
                g.parse_html_for_line_which_includes_newline(line).expect("parse");
            }
            n += g.finalize().len();
        }
    }
    report("syntect", ready, rss, t.elapsed().as_secs_f64() * 1e6 / (ROUNDS * 3) as f64, n / ROUNDS);
}

#[cfg(feature = "treesitter")]
fn main() {
    use tree_sitter_highlight::{HighlightConfiguration, HighlightEvent, Highlighter};
    let names = ["keyword", "string", "comment", "number", "function", "type", "constant", "variable", "property"];
    let t = Instant::now();
    let mut configs = Vec::new();
    for (lang, name, query) in [
        (tree_sitter_rust::LANGUAGE.into(), "rust", tree_sitter_rust::HIGHLIGHTS_QUERY),
        (tree_sitter_python::LANGUAGE.into(), "python", tree_sitter_python::HIGHLIGHTS_QUERY),
        (tree_sitter_javascript::LANGUAGE.into(), "javascript", tree_sitter_javascript::HIGHLIGHT_QUERY),
    ] {
        let mut c = HighlightConfiguration::new(lang, name, query, "", "").expect("config");
        c.configure(&names);
        configs.push(c);
    }
    let ready = t.elapsed().as_secs_f64() * 1e3;
    let rss = rss_kb();
    let mut h = Highlighter::new();
    let t = Instant::now();
    let mut n = 0;
    for _ in 0..ROUNDS {
        for (c, code) in configs.iter().zip([RUST, PYTHON, JS]) {
            for e in h.highlight(c, code.as_bytes(), None, |_| None).expect("highlight") {
                if let Ok(HighlightEvent::Source { start, end }) = e {
                    n += end - start;
                }
            }
        }
    }
    report("tree-sitter", ready, rss, t.elapsed().as_secs_f64() * 1e6 / (ROUNDS * 3) as f64, n / ROUNDS);
}

#[cfg(not(any(feature = "own", feature = "syntect", feature = "treesitter")))]
fn main() {
    eprintln!("build with --features own|syntect|treesitter");
    std::process::exit(2);
}
