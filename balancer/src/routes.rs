//! The route table: which service answers which path, kept as data.
//!
//! Routing is a lookup, not code, so that adding a service or moving a path is
//! an edit to a text file and a SIGHUP rather than a rebuild. The file has one
//! route per line, `PREFIX SERVICE`, with `#` comments and blank lines
//! ignored:
//!
//! ```text
//! # prefix              service
//! /webserv/question     question
//! /webserv/services     @catalog
//! /                     webui
//! ```
//!
//! The built-in defaults are the stackwire layout (the webservices, the
//! catalog the balancer serves itself under the name `@catalog`, and the webui
//! for everything else); lines in the file add routes or replace the default
//! for the same prefix. Every other path under `/webserv` is `@none`: the
//! balancer answers it with the JSON 404 the API promises, rather than letting
//! the webui answer a JSON client with an HTML page. The operators' pages
//! (`/status`, `/metrics`) are not routes at all: they live on the admin
//! listener only (`crate::ops::admin`), so the public port shows nothing internal. The longest matching prefix wins, and a prefix matches
//! only at a path-segment boundary, so `/webserv/question` serves
//! `/webserv/question/7` but not `/webserv/questionnaire`.

use std::path::Path;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A service in the registry, by name.
    Service(String),
    /// The balancer's own `/webserv/services` catalog.
    Catalog,
    /// No route (`@none`): a JSON 404, answered by the balancer itself.
    NotFound,
}

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("line {line}: expected `PREFIX SERVICE`, got {text:?}")]
    Syntax { line: usize, text: String },
    #[error("line {line}: prefix {prefix:?} must start with '/'")]
    Prefix { line: usize, prefix: String },
    #[error("line {line}: service name {name:?} must be [a-z0-9_-]+, @catalog or @none")]
    Service { line: usize, name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    /// Sorted longest prefix first, so the first match is the best one.
    entries: Vec<(String, Target)>,
}

impl Default for RouteTable {
    fn default() -> Self {
        let mut t = RouteTable { entries: Vec::new() };
        for (prefix, target) in [
            ("/webserv/question", Target::Service("question".into())),
            ("/webserv/answer", Target::Service("answer".into())),
            ("/webserv/comment", Target::Service("comment".into())),
            ("/webserv/user", Target::Service("user".into())),
            ("/webserv/vote", Target::Service("vote".into())),
            ("/webserv/search", Target::Service("question".into())),
            ("/webserv/tags", Target::Service("question".into())),
            ("/webserv/services", Target::Catalog),
            ("/webserv", Target::NotFound),
            ("/", Target::Service("webui".into())),
        ] {
            t.insert(prefix, target);
        }
        t
    }
}

impl RouteTable {
    /// Every service some route sends to, each once.
    pub fn services(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, target) in &self.entries {
            if let Target::Service(s) = target {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }

    /// The defaults overlaid with the routes in `text`.
    pub fn parse(text: &str) -> Result<RouteTable, RouteError> {
        let mut t = RouteTable::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let fields: Vec<&str> = content.split_whitespace().collect();
            let [prefix, service] = fields[..] else {
                return Err(RouteError::Syntax { line, text: raw.to_string() });
            };
            if !prefix.starts_with('/') {
                return Err(RouteError::Prefix { line, prefix: prefix.to_string() });
            }
            let target = if service == "@catalog" {
                Target::Catalog
            } else if service == "@none" {
                Target::NotFound
            } else if !service.is_empty()
                && service.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
            {
                Target::Service(service.to_string())
            } else {
                return Err(RouteError::Service { line, name: service.to_string() });
            };
            t.insert(prefix, target);
        }
        Ok(t)
    }

    pub fn load(path: &Path) -> Result<RouteTable, RouteError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| RouteError::Read { path: path.display().to_string(), source })?;
        RouteTable::parse(&text)
    }

    fn insert(&mut self, prefix: &str, target: Target) {
        // A trailing slash adds nothing to a segment-boundary match.
        let prefix = match prefix.trim_end_matches('/') {
            "" => "/",
            p => p,
        };
        self.entries.retain(|(p, _)| p != prefix);
        self.entries.push((prefix.to_string(), target));
        self.entries.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    }

    /// The target for a (decoded, query-less) path; None only if the table
    /// has no `/` route and nothing else matches.
    pub fn lookup(&self, path: &str) -> Option<&Target> {
        self.entries.iter().find(|(p, _)| segment_prefix(p, path)).map(|(_, t)| t)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `prefix → service` pairs, longest first (for logs).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Target)> {
        self.entries.iter().map(|(p, t)| (p.as_str(), t))
    }
}

fn segment_prefix(prefix: &str, path: &str) -> bool {
    prefix == "/" || path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

#[cfg(test)]
#[path = "../tests/unit/routes.rs"]
mod tests;
