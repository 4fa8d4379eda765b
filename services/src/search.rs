//! What a search box's text means: words to rank by, and `[tag]` filters.
//!
//! `"[rust] [async] borrow checker"` searches for "borrow checker" among
//! questions tagged both rust and async; `"[rust]"` alone lists the rust
//! questions, newest first. The words go to PostgreSQL's
//! `websearch_to_tsquery` as typed ([`crate::store::search`]); the tags are
//! checked like the tags of a question, so a malformed one is a 400 naming
//! it rather than a search that silently finds nothing.

use crate::fields::{self, FieldError};

/// Longest query, in characters.
pub const MAX_QUERY: usize = 500;

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The text without its `[tag]` terms, whitespace collapsed.
    pub words: String,
    /// Distinct tags, lowercased, in the order given.
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("q must be 1 to {MAX_QUERY} characters")]
    Length,
    #[error("q has an unclosed [ (write tags as [tag])")]
    Unclosed,
    #[error("q may filter by at most {} tags", fields::MAX_TAGS)]
    TooManyTags,
    #[error("{0}")]
    Tag(FieldError),
    #[error("q must not contain NUL characters")]
    Nul,
}

impl From<QueryError> for proto::Status {
    fn from(e: QueryError) -> proto::Status {
        proto::Status::invalid(e.to_string())
    }
}

pub fn parse(q: &str) -> Result<Query, QueryError> {
    let q = q.trim();
    if q.is_empty() || q.chars().count() > MAX_QUERY {
        return Err(QueryError::Length);
    }
    // The RPC door's check; over HTTP the query string decoder refused it already.
    fields::check_no_nul("q", q).map_err(|_| QueryError::Nul)?;
    let mut words = String::new();
    let mut tags: Vec<String> = Vec::new();
    let mut rest = q;
    while let Some(open) = rest.find('[') {
        words.push_str(&rest[..open]);
        words.push(' ');
        let after = &rest[open + 1..];
        let close = after.find(']').ok_or(QueryError::Unclosed)?;
        let tag = fields::check_tag(&after[..close]).map_err(QueryError::Tag)?;
        if !tags.contains(&tag) {
            if tags.len() == fields::MAX_TAGS {
                return Err(QueryError::TooManyTags);
            }
            tags.push(tag);
        }
        rest = &after[close + 1..];
    }
    words.push_str(rest);
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(Query { words, tags })
}

#[cfg(test)]
#[path = "../tests/unit/search.rs"]
mod tests;
