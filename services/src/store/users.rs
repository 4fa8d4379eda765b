//! Users, sessions and reputation.
//!
//! Reputation is +10 for every upvote and −2 for every downvote on the
//! user's questions and answers, +15 for every answer of theirs accepted by
//! somebody else (accepting your own answer earns nothing, as on the sites
//! this one imitates). It is a column kept by triggers on votes and accepts
//! in those writes' own transactions (migration 3), as are the user's
//! question and answer counts, so reading a user, which every session check
//! does, is one row by primary key whatever the user has done.
//!
//! Usernames are unique case-insensitively (`lower(username)` index) and
//! looked up the same way, so "Ann" and "ann" are one account.

use super::ms;
use crate::infra::db::DbError;
use crate::infra::sql::Sql;
use proto::pb::User;

/// `id, username, reputation, created_at_ms, question_count, answer_count` of `u`.
const USER_COLUMNS: &str = concat!(
    "u.id, u.username, u.reputation, ",
    ms!("u.created_at"),
    ", u.question_count::bigint, u.answer_count::bigint"
);

fn user(row: &postgres::Row) -> User {
    User {
        id: row.get(0),
        username: row.get(1),
        reputation: row.get(2),
        created_at_ms: row.get(3),
        question_count: row.get(4),
        answer_count: row.get(5),
        session_expires_ms: 0,
    }
}

/// Creates a user; a taken name is a unique violation
/// ([`DbError::is_unique_violation`]).
pub fn insert(db: &mut impl Sql, username: &str, password_hash: &str) -> Result<User, DbError> {
    let row = db.query_one(
        concat!(
            "INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id, username, ",
            ms!("created_at")
        ),
        &[&username, &password_hash],
    )?;
    Ok(User { id: row.get(0), username: row.get(1), created_at_ms: row.get(2), ..Default::default() })
}

/// `(id, password hash)` of the user called `username` (any case).
pub fn login_record(db: &mut impl Sql, username: &str) -> Result<Option<(i64, String)>, DbError> {
    let row = db.query_opt("SELECT id, password_hash FROM users WHERE lower(username) = lower($1)", &[&username])?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

pub fn get(db: &mut impl Sql, id: i64) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {} FROM users u WHERE u.id = $1", USER_COLUMNS);
    Ok(db.query_opt(&sql, &[&id])?.as_ref().map(user))
}

pub fn by_name(db: &mut impl Sql, username: &str) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {} FROM users u WHERE lower(u.username) = lower($1)", USER_COLUMNS);
    Ok(db.query_opt(&sql, &[&username])?.as_ref().map(user))
}

/// Locks the user's row until the transaction ends, so one user's creates
/// run one at a time (the rate limit and idempotency checks then see each
/// other's rows); false when there is no such user. `NO KEY UPDATE` leaves
/// logins (which insert sessions referencing the row) unblocked.
pub fn lock(db: &mut impl Sql, id: i64) -> Result<bool, DbError> {
    Ok(db.query_opt("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", &[&id])?.is_some())
}

/// Locks the rows of `ids` that exist and that no other transaction holds
/// (as [`lock`] does one, but skipping a held row instead of waiting for
/// it), in id order; gives the ids it locked, sorted. A group commit uses it
/// so that one user's busy row never stalls the others' posts.
pub fn lock_free(db: &mut impl Sql, ids: &[i64]) -> Result<Vec<i64>, DbError> {
    let rows =
        db.query("SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED", &[&ids])?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Stores a session for `user_id` under the token's hash (30 days), and
/// drops that user's expired ones while we are here.
pub fn create_session(db: &mut impl Sql, token_hash: &str, user_id: i64) -> Result<(), DbError> {
    db.execute("DELETE FROM sessions WHERE user_id = $1 AND expires_at < now()", &[&user_id])?;
    db.execute("INSERT INTO sessions (token_hash, user_id) VALUES ($1, $2)", &[&token_hash, &user_id])?;
    Ok(())
}

/// The user a live session belongs to.
pub fn session_user(db: &mut impl Sql, token_hash: &str) -> Result<Option<User>, DbError> {
    let sql = format!(
        "SELECT {}, {} FROM users u, sessions s
         WHERE s.token_hash = $1 AND s.expires_at > now() AND u.id = s.user_id",
        USER_COLUMNS,
        ms!("s.expires_at")
    );
    let Some(row) = db.query_opt(&sql, &[&token_hash])? else { return Ok(None) };
    Ok(Some(User { session_expires_ms: row.get(6), ..user(&row) }))
}

/// Ends a session; the user it belonged to, if there was one.
pub fn delete_session(db: &mut impl Sql, token_hash: &str) -> Result<Option<i64>, DbError> {
    let row = db.query_opt("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id", &[&token_hash])?;
    Ok(row.map(|r| r.get(0)))
}
