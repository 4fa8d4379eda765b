//! What a cached value depends on, and how it is named in Redis and on the
//! change feed.

/// One unit of invalidation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Anything any list, tag count, search result or user page shows.
    Site,
    /// One question's thread: the question, its answers, comments, votes.
    Thread(i64),
    /// One user: reputation, counts (what a `User` shows).
    User(i64),
    /// One user's sessions: bumped when one ends (a logout).
    Sessions(i64),
}

impl Topic {
    /// The name on the feed and, after the prefix, in Redis: `site`, `q:7`, `u:3`, `s:3`.
    pub fn name(&self) -> String {
        match self {
            Topic::Site => "site".to_string(),
            Topic::Thread(id) => format!("q:{id}"),
            Topic::User(id) => format!("u:{id}"),
            Topic::Sessions(id) => format!("s:{id}"),
        }
    }

    /// The counter's key.
    pub fn key(&self, prefix: &str) -> String {
        format!("{prefix}:ver:{}", self.name())
    }

    /// The topic a feed word names, if it names one.
    pub fn parse(word: &str) -> Option<Topic> {
        if word == "site" {
            return Some(Topic::Site);
        }
        let (kind, id) = word.split_once(':')?;
        let id = id.parse::<i64>().ok()?;
        match kind {
            "q" => Some(Topic::Thread(id)),
            "u" => Some(Topic::User(id)),
            "s" => Some(Topic::Sessions(id)),
            _ => None,
        }
    }
}
