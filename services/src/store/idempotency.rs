//! Idempotency keys: the post a client's key made, and the fingerprint of the
//! request it came with ([`crate::flows::idempotency`] decides what they mean).

use crate::infra::db::DbError;
use crate::infra::sql::Sql;

/// What a key made: the request's fingerprint, the kind of post, its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub fingerprint: String,
    pub target: String,
    pub post_id: i64,
}

/// Holds the key of `(author, key)` for this transaction, unless another
/// transaction holds it (then false: that request is still in flight).
pub fn try_hold(db: &mut impl Sql, author: i64, key: &str) -> Result<bool, DbError> {
    let row = db.query_one(
        "SELECT pg_try_advisory_xact_lock(hashtextextended('idempotency:' || $1::text || ':' || $2, 0))",
        &[&author.to_string(), &key],
    )?;
    Ok(row.get(0))
}

/// What `(author, key)` made within the last `ttl_secs`, if anything.
pub fn find(db: &mut impl Sql, author: i64, key: &str, ttl_secs: i64) -> Result<Option<Made>, DbError> {
    let row = db.query_opt(
        "SELECT fingerprint, target, post_id FROM idempotency_keys
         WHERE author_id = $1 AND key = $2 AND created_at > now() - make_interval(secs => $3)",
        &[&author, &key, &(ttl_secs as f64)],
    )?;
    Ok(row.map(|r| Made { fingerprint: r.get(0), target: r.get(1), post_id: r.get(2) }))
}

/// Records what `(author, key)` made now, replacing an expired record, and
/// drops this author's records past `ttl_secs`.
pub fn record(db: &mut impl Sql, author: i64, key: &str, made: &Made, ttl_secs: i64) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM idempotency_keys WHERE author_id = $1 AND created_at <= now() - make_interval(secs => $2)",
        &[&author, &(ttl_secs as f64)],
    )?;
    db.execute(
        "INSERT INTO idempotency_keys (author_id, key, fingerprint, target, post_id) VALUES ($1, $2, $3, $4, $5)",
        &[&author, &key, &made.fingerprint, &made.target, &made.post_id],
    )?;
    Ok(())
}
