//! Posting limits: at most 2 questions, 10 answers and 10 comments per user a
//! minute by default (the numbers, and how to change them, are in
//! `proto::limits`, with every other limit).
//!
//! The limit is counted from the posts themselves (`created_at` of the
//! user's rows in the last minute), not from a counter in memory, so it holds
//! across every instance of a service and across restarts, and there is no
//! second state to keep in step. The check runs inside the create's
//! transaction after the user's row has been locked ([`crate::store::users::lock`]),
//! so two posts racing from one user are counted one after the other.
//!
//! A refusal is RESOURCE_EXHAUSTED (HTTP 429) with a message a person can
//! act on, "you can ask at most 2 questions a minute; try again in 37
//! seconds". The seconds are when the oldest post in the window leaves it.
//! [`retry_after`] reads them back out of the message, which is how the HTTP
//! layer (here, and in the webui, which only sees the RPC status) sets
//! `Retry-After` without a second channel for the number.

use crate::infra::db::DbError;
use crate::infra::sql::Sql;
use proto::{Code, Status};

/// One posting limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The table holding the posts counted.
    table: &'static str,
    config: proto::limits::Limit,
    /// "ask", "post"
    verb: &'static str,
    /// "questions"
    noun: &'static str,
}

pub const QUESTIONS: Limit =
    Limit { table: "questions", config: proto::limits::QUESTIONS, verb: "ask", noun: "questions" };
pub const ANSWERS: Limit = Limit { table: "answers", config: proto::limits::ANSWERS, verb: "post", noun: "answers" };
pub const COMMENTS: Limit =
    Limit { table: "comments", config: proto::limits::COMMENTS, verb: "post", noun: "comments" };

/// The window, in seconds (the same for every posting limit).
pub const WINDOW_SECS: i64 = 60;

impl Limit {
    /// The most posts in a window, as configured.
    pub fn max(&self) -> i64 {
        i64::from(self.config.max())
    }

    /// The refusal, with the wait rounded up to whole seconds (at least 1).
    pub fn refusal(&self, wait_secs: i64) -> Status {
        let n = wait_secs.clamp(1, WINDOW_SECS);
        let unit = if n == 1 { "second" } else { "seconds" };
        let (verb, max, noun) = (self.verb, self.max(), self.noun);
        Status::new(
            Code::ResourceExhausted,
            format!("you can {verb} at most {max} {noun} a minute; try again in {n} {unit}"),
        )
    }

    /// Ok when `author` may post one more now.
    pub fn check(&self, db: &mut impl Sql, author: i64) -> Result<(), Status> {
        let row = db
            .query_one(&self.recent_sql("$1", "$2"), &[&author, &self.max()])
            .map_err(|e| DbError::from(e).to_status())?;
        self.allows(author, row.get(0), row.get(1))
    }

    /// The author's posts that count now, as one row `(n, wait)`: how many
    /// (the newest `max` at most), and the seconds until the oldest of them
    /// leaves the window. `author` and `max` are the statement's parameters
    /// for them (an answer's or a comment's insert checks the limit in its
    /// own statement, see `store::answers::create`).
    pub fn recent_sql(&self, author: &str, max: &str) -> String {
        // The `max` newest posts in the window; when there are `max` of them,
        // the oldest of those decides when the next post is allowed.
        format!(
            "SELECT count(*) AS n,
                    COALESCE(ceil(extract(epoch FROM min(created_at) + interval '{WINDOW_SECS} seconds' - now())), 0)::bigint
                        AS wait
             FROM (SELECT created_at FROM {} WHERE author_id = {author} AND created_at > now() - interval '{WINDOW_SECS} seconds'
                   ORDER BY created_at DESC LIMIT {max}) recent",
            self.table
        )
    }

    /// Ok when `n` posts of `author` in the window leave room for one more;
    /// the refusal, `wait` seconds, else.
    pub fn allows(&self, author: i64, n: i64, wait: i64) -> Result<(), Status> {
        if n >= self.max() {
            return Err(self.refuses(author, n, wait));
        }
        Ok(())
    }

    /// The refusal of `author`'s post, with `n` posts in the window and
    /// `wait` seconds to go, logged.
    pub fn refuses(&self, author: i64, n: i64, wait: i64) -> Status {
        log::info!(target: "ratelimit", "user {author} refused: {n} {} in the last minute", self.table);
        self.refusal(wait)
    }
}

/// The seconds in a refusal's "try again in N seconds", for `Retry-After`.
pub fn retry_after(status: &Status) -> Option<u64> {
    if status.code != Code::ResourceExhausted {
        return None;
    }
    let rest = &status.message[status.message.rfind("try again in ")? + "try again in ".len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
#[path = "../tests/unit/ratelimit.rs"]
mod tests;
