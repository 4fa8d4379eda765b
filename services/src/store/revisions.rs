//! The edit history of questions and answers: revision 1 is the post as
//! first written, each edit that changes something adds the next one.

use super::{author, ms, table};
use crate::fields::Target;
use crate::infra::db::DbError;
use crate::infra::sql::Sql;
use proto::pb::Revision;

/// The columns a revision is written with; `title` and `tags` are for questions only.
macro_rules! insert_into {
    () => {
        "INSERT INTO revisions (target, post_id, editor_id, title, body, tags) "
    };
}

/// Records a revision; `title` and `tags` are for questions only.
pub fn insert(
    db: &mut impl Sql,
    target: Target,
    post_id: i64,
    editor: Option<i64>,
    title: Option<&str>,
    body: &str,
    tags: &[String],
) -> Result<(), DbError> {
    db.execute(
        concat!(insert_into!(), "VALUES ($1, $2, $3, $4, $5, $6)"),
        &[&target.as_str(), &post_id, &editor, &title, &body, &tags],
    )?;
    Ok(())
}

/// Revision 1 of the answer that a statement inserts in its CTE `a` (the
/// new answers row, `RETURNING *`), as [`insert`] would record it, with the
/// target's name ([`Target::as_str`]) in parameter `$4`: for
/// [`super::answers::create`], which writes both in one round trip.
pub const FIRST_OF_NEW_ANSWER: &str =
    concat!(insert_into!(), "SELECT $4::text, a.id, a.author_id, NULL, a.body, '{}' FROM a");

/// The post's revisions, oldest first; `None` when the post does not exist.
pub fn list(db: &mut impl Sql, target: Target, post_id: i64) -> Result<Option<Vec<Revision>>, DbError> {
    let exists_sql = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE id = $1)", table(target));
    if !db.query_one(&exists_sql, &[&post_id])?.get::<_, bool>(0) {
        return Ok(None);
    }
    let rows = db.query(
        concat!(
            "SELECT r.id, r.post_id, ",
            author!("r.editor_id"),
            ", COALESCE(r.title, ''), r.body, r.tags, ",
            ms!("r.created_at"),
            ", COALESCE(r.editor_id, 0)
             FROM revisions r
             WHERE r.target = $1 AND r.post_id = $2 ORDER BY r.id"
        ),
        &[&target.as_str(), &post_id],
    )?;
    Ok(Some(
        rows.iter()
            .map(|r| Revision {
                id: r.get(0),
                post_id: r.get(1),
                editor: r.get(2),
                title: r.get(3),
                body: r.get(4),
                tags: r.get(5),
                created_at_ms: r.get(6),
                editor_id: r.get(7),
            })
            .collect(),
    ))
}
