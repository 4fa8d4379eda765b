//! Votes: one row per user and post, and the post's score column kept equal
//! to the sum of its votes by changing both in the same transaction.
//!
//! The vote service first locks the post row ([`lock_post`]), so concurrent
//! votes on one post queue on it and every score update sees the previous
//! one; then it reads the voter's current vote, writes the new one and adds
//! the difference to the score ([`add_score`]).

use super::table;
use crate::fields::Target;
use crate::infra::db::DbError;
use crate::infra::sql::Sql;

/// The post's author (None for an anonymous post) and the question of its
/// thread, with the post row locked; `None` when there is no such post.
pub fn lock_post(db: &mut impl Sql, target: Target, id: i64) -> Result<Option<(Option<i64>, i64)>, DbError> {
    let question = match target {
        Target::Question => "id",
        Target::Answer => "question_id",
    };
    let sql = format!("SELECT author_id, {question} FROM {} WHERE id = $1 FOR NO KEY UPDATE", table(target));
    Ok(db.query_opt(&sql, &[&id])?.map(|r| (r.get(0), r.get(1))))
}

/// The user's vote on the post: +1, −1 or none.
pub fn current(db: &mut impl Sql, user: i64, target: Target, id: i64) -> Result<Option<i16>, DbError> {
    let row = db.query_opt(
        "SELECT value FROM votes WHERE user_id = $1 AND target = $2 AND post_id = $3",
        &[&user, &target.as_str(), &id],
    )?;
    Ok(row.map(|r| r.get(0)))
}

/// Sets the user's vote to `value` (±1), or removes it for `None`.
pub fn set(db: &mut impl Sql, user: i64, target: Target, id: i64, value: Option<i16>) -> Result<(), DbError> {
    match value {
        Some(v) => db.execute(
            "INSERT INTO votes (user_id, target, post_id, value) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, target, post_id) DO UPDATE SET value = EXCLUDED.value, created_at = now()",
            &[&user, &target.as_str(), &id, &v],
        )?,
        None => db.execute(
            "DELETE FROM votes WHERE user_id = $1 AND target = $2 AND post_id = $3",
            &[&user, &target.as_str(), &id],
        )?,
    };
    Ok(())
}

/// Adds `delta` to the post's score; returns the new score.
pub fn add_score(db: &mut impl Sql, target: Target, id: i64, delta: i64) -> Result<i64, DbError> {
    let sql = format!("UPDATE {} SET score = score + $2 WHERE id = $1 RETURNING score", table(target));
    Ok(db.query_one(&sql, &[&id, &delta])?.get(0))
}
