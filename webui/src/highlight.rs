//! Syntax highlighting of fenced code on the server, by the fence's
//! language tag, with a small tokenizer of our own.
//!
//! Why not syntect or tree-sitter-highlight: measured on this 2-core machine
//! (`scripts/bench_highlight.sh`; figures in docs/highlighting.md), syntect
//! adds nearly two minutes to a clean build, grows a process by about 30 MB
//! as its grammars compile, and takes milliseconds per snippet;
//! tree-sitter-highlight took 86 s to build and 55-95 ms to start with only
//! three of the thirteen grammars (each one C to compile). This tokenizer
//! builds in under two seconds, starts at once, holds no tables beyond its
//! word lists, and takes about 10 µs a snippet. A page shows a handful of
//! small snippets, and what a reader needs is comments, strings, numbers and
//! keywords told apart. It is a highlighter, not a parser: a wrong guess
//! costs a colour, never text.
//!
//! The one safety rule: every byte of the code reaches the page exactly once,
//! through [`crate::html::escape`], inside a `<span class="…">` whose class is one of our
//! constants or outside any span. Nothing of the input ever becomes markup
//! (a property test checks that the text of the output is the input).
//!
//! The scanner for the C family and its cousins (rust, python, js/ts, go,
//! c/c++, java, sql, bash) is here, configured per language by a [`Spec`]
//! from `highlight_langs`; json, yaml, toml, html and css have scanners of
//! their own there; [`highlight`] picks one per language. What the scanners
//! share (the escaping output, where a word, string or number ends) is in
//! `highlight_scan`. Token classes (the stylesheet colours them for light and
//! dark): `k` keyword, `t` type or builtin, `s` string, `n` number or
//! constant, `c` comment, `f` function name, `m` macro, decorator or
//! preprocessor, `a` attribute, key or property, `g` tag or selector, `v`
//! variable.

use crate::highlight_langs::{self as langs, Spec};
use crate::highlight_scan::{ident_end, is_ident, number_end, string_end, Out};

/// The languages we highlight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Go,
    C,
    Cpp,
    Java,
    Sql,
    Bash,
    Json,
    Yaml,
    Toml,
    Html,
    Css,
}

impl Lang {
    /// The language of a fence's tag (its first word, any case), with the
    /// usual aliases; `None` for a tag we do not know (shown unhighlighted).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let word = tag.split([' ', ',', '{']).next().unwrap_or("").to_ascii_lowercase();
        let lang = match word.strip_prefix("language-").unwrap_or(&word) {
            "rust" | "rs" => Lang::Rust,
            "python" | "py" | "python3" => Lang::Python,
            "javascript" | "js" | "jsx" | "mjs" | "cjs" | "node" => Lang::JavaScript,
            "typescript" | "ts" | "tsx" => Lang::TypeScript,
            "go" | "golang" => Lang::Go,
            "c" | "h" => Lang::C,
            "cpp" | "c++" | "cc" | "cxx" | "hpp" | "hh" => Lang::Cpp,
            "java" => Lang::Java,
            "sql" | "postgresql" | "postgres" | "psql" | "plpgsql" | "mysql" | "sqlite" => Lang::Sql,
            "bash" | "sh" | "shell" | "zsh" | "console" | "shell-session" => Lang::Bash,
            "json" | "jsonc" | "json5" => Lang::Json,
            "yaml" | "yml" => Lang::Yaml,
            "toml" => Lang::Toml,
            "html" | "xml" | "xhtml" | "svg" | "htm" => Lang::Html,
            "css" => Lang::Css,
            _ => return None,
        };
        Some(lang)
    }

    /// The name in the `language-…` class of the `<code>` element.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Go => "go",
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::Java => "java",
            Lang::Sql => "sql",
            Lang::Bash => "bash",
            Lang::Json => "json",
            Lang::Yaml => "yaml",
            Lang::Toml => "toml",
            Lang::Html => "html",
            Lang::Css => "css",
        }
    }
}

/// Escaped HTML with highlighting spans, `code` in `lang`.
pub fn highlight(lang: Lang, code: &str) -> String {
    let mut out = Out::new(code.len());
    match lang {
        Lang::Rust => c_like(&langs::RUST, code, &mut out),
        Lang::Python => c_like(&langs::PYTHON, code, &mut out),
        Lang::JavaScript => c_like(&langs::JS, code, &mut out),
        Lang::TypeScript => c_like(&langs::TS, code, &mut out),
        Lang::Go => c_like(&langs::GO, code, &mut out),
        Lang::C => c_like(&langs::C, code, &mut out),
        Lang::Cpp => c_like(&langs::CPP, code, &mut out),
        Lang::Java => c_like(&langs::JAVA, code, &mut out),
        Lang::Sql => c_like(&langs::SQL, code, &mut out),
        Lang::Bash => c_like(&langs::BASH, code, &mut out),
        // The data and markup languages have scanners of their own.
        Lang::Html => langs::html(code, &mut out),
        Lang::Css => langs::css(code, &mut out),
        Lang::Yaml => langs::data(code, &mut out, b'#', b':', true),
        Lang::Toml => langs::data(code, &mut out, b'#', b'=', false),
        Lang::Json => langs::data(code, &mut out, 0, b':', false),
    }
    out.finish()
}

/// Whether the byte before `i` allows a word to start at `i`.
fn word_start(b: &[u8], i: usize) -> bool {
    i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == b'.' && b.get(i).is_some_and(u8::is_ascii_digit))
}

fn next_non_space(b: &[u8], mut i: usize) -> Option<u8> {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    b.get(i).copied()
}

/// The scanner for the C family and its cousins.
fn c_like(spec: &Spec, code: &str, out: &mut Out) {
    let b = code.as_bytes();
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let rest = &b[i..];
        let start = i;
        let class: Option<&'static str>;
        if let Some(open) = spec.line_comments.iter().find(|p| rest.starts_with(p.as_bytes())) {
            // `#` starts a comment in bash only as a word of its own (`$#`, `a#b` are not).
            if !(spec.hash_comment_word && *open == "#" && i > 0 && !b[i - 1].is_ascii_whitespace()) {
                i = rest.iter().position(|&c| c == b'\n').map_or(b.len(), |e| start + e);
                out.push(Some("c"), &code[start..i]);
                line_start = false;
                continue;
            }
        }
        if let Some((open, close)) = spec.block_comments.iter().find(|(o, _)| rest.starts_with(o.as_bytes())) {
            let body = &b[i + open.len()..];
            i = body
                .windows(close.len())
                .position(|w| w == close.as_bytes())
                .map_or(b.len(), |e| start + open.len() + e + close.len());
            out.push(Some("c"), &code[start..i]);
            continue;
        }
        let c = b[i];
        if let Some(q) = spec.triple_quotes.iter().find(|q| rest.starts_with(q.as_bytes())) {
            i = string_end(b, i, q.as_bytes(), true, false, true);
            class = Some("s");
        } else if spec.quotes.contains(&c) && !(c == b'\'' && spec.lifetimes && is_lifetime(b, i)) {
            let multiline = spec.multiline_quotes.contains(&c);
            i = string_end(b, i, &[c], spec.escapes && !(c == b'\'' && spec.raw_single), spec.doubled, multiline);
            class = Some("s");
        } else if c == b'\'' && spec.lifetimes {
            i = ident_end(b, i + 1, &[]);
            class = Some("t");
        } else if c.is_ascii_digit() && word_start(b, i) {
            i = number_end(b, i);
            class = Some("n");
        } else if c == b'#' && spec.preprocessor && line_start {
            i = ident_end(b, i + 1, &[]);
            class = Some("m");
        } else if c == b'@' && spec.decorators && b.get(i + 1).is_some_and(|&n| is_ident(n)) {
            i = ident_end(b, i + 1, b".");
            class = Some("m");
        } else if c == b'$' && spec.dollar_vars {
            i = dollar_end(b, i);
            class = Some("v");
        } else if is_ident(c) || (c == b'$' && spec.dollar_ident) {
            i = ident_end(b, i + 1, if spec.dollar_ident { b"$" } else { b"" });
            let word = &code[start..i];
            // A string prefix: r"…", b'…', f"…", r#"…"# and friends.
            if let Some(end) = prefixed_string(spec, b, start, i) {
                i = end;
                class = Some("s");
            } else {
                class = classify(spec, word, b, i);
            }
        } else {
            // Punctuation and spaces, up to the next byte that may start something.
            i += 1;
            while i < b.len() && !starts_token(spec, b, i) {
                i += 1;
            }
            class = None;
        }
        out.push(class, &code[start..i]);
        line_start = code[start..i].ends_with('\n')
            || (line_start && class.is_none() && code[start..i].bytes().all(|c| c == b' ' || c == b'\t'));
    }
}

/// Whether a token other than punctuation may start at `i`.
fn starts_token(spec: &Spec, b: &[u8], i: usize) -> bool {
    let c = b[i];
    b[i - 1] == b'\n'
        || is_ident(c)
        || spec.quotes.contains(&c)
        || matches!(c, b'#' | b'@' | b'$' | b'/' | b'-' | b'\'' | b'<')
}

/// `'a` (a lifetime or label) rather than `'a'` (a char).
fn is_lifetime(b: &[u8], i: usize) -> bool {
    let end = ident_end(b, i + 1, &[]);
    end > i + 1 && b.get(end) != Some(&b'\'')
}

/// `$name`, `${…}`, `$(…` (the `$(` alone), `$1`, `$@`.
fn dollar_end(b: &[u8], i: usize) -> usize {
    match b.get(i + 1) {
        Some(b'{') => b[i..].iter().position(|&c| c == b'}' || c == b'\n').map_or(b.len(), |e| i + e + 1),
        Some(b'(') => i + 2,
        Some(c) if is_ident(*c) => ident_end(b, i + 1, &[]),
        Some(b'@' | b'#' | b'?' | b'$' | b'!' | b'*' | b'-') => i + 2,
        _ => i + 1,
    }
}

/// A string literal with a prefix word (`word` = `b[start..end]`).
fn prefixed_string(spec: &Spec, b: &[u8], start: usize, end: usize) -> Option<usize> {
    let word = std::str::from_utf8(&b[start..end]).ok()?;
    if !spec.string_prefixes.iter().any(|p| p.eq_ignore_ascii_case(word)) {
        return None;
    }
    let q = *b.get(end)?;
    if spec.lifetimes && word.contains('r') && (q == b'#' || q == b'"') {
        // Rust raw string: r#"…"# with as many # as it opens with.
        let hashes = b[end..].iter().take_while(|&&c| c == b'#').count();
        if b.get(end + hashes) != Some(&b'"') {
            return None;
        }
        let mut close = vec![b'"'];
        close.extend(std::iter::repeat_n(b'#', hashes));
        let body = end + hashes + 1;
        return Some(
            b[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |p| body + p + close.len()),
        );
    }
    if let Some(triple) = spec.triple_quotes.iter().find(|t| b[end..].starts_with(t.as_bytes())) {
        return Some(string_end(b, end, triple.as_bytes(), true, false, true));
    }
    if spec.quotes.contains(&q) && q != b'`' {
        let raw = word.contains(['r', 'R']);
        return Some(string_end(b, end, &[q], spec.escapes && !raw, false, false));
    }
    None
}

/// The class of an identifier `word` that ends at `end`.
fn classify(spec: &Spec, word: &str, b: &[u8], end: usize) -> Option<&'static str> {
    let key = if spec.case_insensitive { word.to_ascii_lowercase() } else { word.to_string() };
    if spec.keywords.contains(&key.as_str()) {
        return Some("k");
    }
    if spec.constants.contains(&key.as_str()) {
        return Some("n");
    }
    if spec.types.contains(&key.as_str()) {
        return Some("t");
    }
    if spec.macros_bang && b.get(end) == Some(&b'!') && b.get(end + 1) != Some(&b'=') {
        return Some("m");
    }
    if next_non_space(b, end) == Some(b'(') {
        return Some("f");
    }
    // `Type` and `T` are types; `MAX_LEN` is a constant, left plain.
    let capital =
        word.as_bytes()[0].is_ascii_uppercase() && (word.len() == 1 || word.bytes().any(|c| c.is_ascii_lowercase()));
    if spec.capital_types && capital {
        return Some("t");
    }
    None
}
