//! Creating questions, answers and comments: one transaction each.
//!
//! Every create runs the same steps, in this order:
//! 1. validate the fields (a 400 costs no database work);
//! 2. the idempotency key ([`crate::flows::idempotency`]): a key whose first request
//!    is still running is 409 at once, one used for a different request 422,
//!    one that already made this post answers with it (`replayed`), never
//!    counted by the posting limit its first attempt used up;
//! 3. lock the author's row ([`users::lock`]): one user's creates now run one
//!    after another, which is what makes step 4 exact;
//! 4. the posting limit ([`crate::ratelimit`]);
//! 5. insert the row, its tags and its revision 1, record what the key made,
//!    then read the row back in the shape callers get (an answer's and a
//!    comment's insert checks the limit and reads the row back itself, all
//!    in one statement: steps 4 and 5 in one round trip).
//!
//! Steps 2 to 5 are written once ([`Post::create`]); each kind of post
//! brings its own step 1 and its own insert.
//!
//! Answers have a shortcut for the common case, [`answers`]: creates that
//! arrive while another is being written are written together, one
//! transaction and one statement for the group, which checks the same
//! posting limit; whatever it does not make falls back to [`answer`].
//!
//! Step 2 goes first so that a repeated request never waits behind its own
//! first attempt's lock on the author. The posts' own `idempotency_key`
//! columns (migration 2) are no longer written: `idempotency_keys` is the one
//! record, and its rows expire after 24 hours where a column's unique index
//! would have held a key for ever.

use crate::auth::check_user_id;
use crate::fields::{self, Target};
use crate::flows::idempotency::{self, Verdict};
use crate::infra::db::DbError;
use crate::infra::replicas;
use crate::infra::sql::{PgConn, Tx};
use crate::ratelimit;
use crate::store::{answers, comments, questions, revisions, users, Quoted};
use proto::pb::{Answer, Comment, CreateAnswer, CreateComment, CreateQuestion, Question};
use proto::{Code, Status};

/// Why a typed create without a user is refused.
pub const LOG_IN_TO_POST: &str = "log in to post";

/// A created row, and whether it already existed (an idempotent replay).
#[derive(Debug, Clone, PartialEq)]
pub struct Created<T> {
    pub row: T,
    pub replayed: bool,
}

impl<T> Created<T> {
    /// How the log tells a new post from a replay: `created` or `replayed`.
    pub fn verb(&self) -> &'static str {
        if self.replayed {
            "replayed"
        } else {
            "created"
        }
    }

    /// `resp`, marked `Idempotent-Replayed` when the row came from an earlier request.
    pub fn respond(&self, resp: proto::pb::HttpResponse) -> proto::pb::HttpResponse {
        if self.replayed {
            resp.header("Idempotent-Replayed", "true")
        } else {
            resp
        }
    }
}

fn begin(conn: &mut PgConn) -> Result<Tx<'_>, Status> {
    Ok(conn.transaction().map_err(DbError::from)?)
}

fn commit(tx: Tx<'_>) -> Result<(), Status> {
    Ok(tx.commit().map_err(DbError::from)?)
}

/// Steps 2 and the author check: the user must exist (a typed caller could
/// pass an id that was never a user).
fn lock_author(tx: &mut Tx<'_>, author: i64) -> Result<(), Status> {
    if users::lock(tx, author)? {
        Ok(())
    } else {
        Err(Status::new(Code::Unauthenticated, format!("user {author} does not exist; log in again")))
    }
}

fn vanished(what: &str, id: i64) -> Status {
    log::error!(target: "posting", "{what} {id} vanished inside its own transaction");
    Status::internal(format!("{what} {id} could not be read back"))
}

/// What an insert under `parent` gave (a question, an
/// answer; name and id): a foreign-key violation is that parent missing
/// (NOT_FOUND).
fn under<T>(parent: (&str, i64), inserted: Result<T, DbError>) -> Result<T, Status> {
    inserted
        .map_err(|e| if e.is_foreign_key_violation() { fields::not_found(parent.0, parent.1) } else { e.to_status() })
}

/// The post an insert that checked the posting limit itself made, or the
/// limit's refusal.
fn within<T>(limit: &ratelimit::Limit, author: i64, made: Quoted<T>) -> Result<T, Status> {
    match made {
        Quoted::Made(row) => Ok(row),
        Quoted::Full { n, wait } => Err(limit.refuses(author, n, wait)),
    }
}

/// What a create's insert gives back: the new post's id, or its id and the
/// row itself when the insert read it back in the same statement (one round
/// trip fewer; see [`answers::create`]).
enum New<T> {
    Id(i64),
    Row(i64, T),
}

/// One create's steps 2 to 5, which every kind of post runs alike: its kind
/// (the idempotency record's target, and the word in messages), author,
/// idempotency key, request fingerprint and posting limit.
struct Post<'l> {
    kind: &'static str,
    author: i64,
    key: Option<String>,
    print: String,
    limit: &'l ratelimit::Limit,
}

impl Post<'_> {
    /// A create by `author` (already checked: it comes first) of a `kind`
    /// whose checked fields are `request` (what its fingerprint covers); the
    /// idempotency key is checked here, the last of step 1.
    fn new<'l>(
        kind: &'static str,
        author: i64,
        key: &str,
        request: &[&str],
        limit: &'l ratelimit::Limit,
    ) -> Result<Post<'l>, Status> {
        let key = fields::check_idempotency_key(key)?;
        Ok(Post { kind, author, key, print: idempotency::fingerprint(kind, request), limit })
    }

    /// Steps 2 to 5 in one transaction: `insert` checks the posting limit
    /// it is given and writes the new post (its row, tags and revision 1)
    /// and gives its id, or its row too; `get` reads a row back in the shape
    /// callers get, for a replay and for an insert that gave only the id.
    fn create<T>(
        self,
        conn: &mut PgConn,
        get: impl FnOnce(&mut Tx<'_>, i64) -> Result<Option<T>, DbError>,
        insert: impl FnOnce(&mut Tx<'_>, &ratelimit::Limit) -> Result<New<T>, Status>,
    ) -> Result<Created<T>, Status> {
        let mut tx = begin(conn)?;
        let (id, row, replayed) =
            match idempotency::check(&mut tx, self.author, self.key.as_deref(), self.kind, self.print)? {
                Verdict::Replay(id) => (id, None, true),
                Verdict::Create(key) => {
                    lock_author(&mut tx, self.author)?;
                    let (id, row) = match insert(&mut tx, self.limit)? {
                        New::Id(id) => (id, None),
                        New::Row(id, row) => (id, Some(row)),
                    };
                    if let Some(k) = key {
                        k.made(&mut tx, id)?;
                    }
                    (id, row, false)
                }
            };
        let row = match row {
            Some(row) => row,
            None => get(&mut tx, id)?.ok_or_else(|| vanished(self.kind, id))?,
        };
        commit(tx)?;
        Ok(Created { row, replayed })
    }
}

pub fn question(conn: &mut PgConn, req: CreateQuestion) -> Result<Created<Question>, Status> {
    let author = check_user_id(req.author_id, LOG_IN_TO_POST)?;
    let title = fields::clean_text(fields::TITLE, &req.title)?;
    let body = fields::clean_text(fields::QUESTION_BODY, &req.body)?;
    let tags = fields::parse_tags(&req.tags.join(" "))?;
    let print: [&str; 3] = [&title, &body, &tags.join(" ")];
    let post = Post::new("question", author, &req.idempotency_key, &print, &ratelimit::QUESTIONS)?;
    post.create(
        conn,
        |tx, id| questions::get(tx, id),
        |tx, limit| {
            limit.check(tx, author)?;
            let id = questions::insert(tx, &title, &body, author)?;
            questions::set_tags(tx, id, &tags)?;
            revisions::insert(tx, Target::Question, id, Some(author), Some(&title), &body, &tags)?;
            Ok(New::Id(id))
        },
    )
}

/// Creates an answer. A question that does not exist (or vanished since
/// the caller checked) is NOT_FOUND through the foreign key.
pub fn answer(conn: &mut PgConn, req: CreateAnswer) -> Result<Created<Answer>, Status> {
    let author = check_user_id(req.author_id, LOG_IN_TO_POST)?;
    let question_id = fields::check_id("question_id", req.question_id)?;
    let body = fields::clean_text(fields::ANSWER_BODY, &req.body)?;
    let print: [&str; 2] = [&question_id.to_string(), &body];
    let post = Post::new("answer", author, &req.idempotency_key, &print, &ratelimit::ANSWERS)?;
    post.create(
        conn,
        |tx, id| answers::get(tx, id),
        |tx, limit| {
            // With the limit and its revision 1; its trigger counts it and marks the question active.
            let made = under(("question", question_id), answers::create(tx, question_id, &body, Some(author), limit));
            let answer = within(limit, author, made?)?;
            Ok(New::Row(answer.id, answer))
        },
    )
}

/// What a group commit did with one answer create: made it, or left it to
/// its caller to make alone with [`answer`].
#[derive(Debug)]
pub enum Grouped {
    Made(Created<Answer>),
    Alone(CreateAnswer),
}

/// Whether a create may join a group: it has no idempotency key (a keyed
/// create runs steps 2 to 5 alone) and its fields pass their checks.
pub fn groupable(req: &CreateAnswer) -> bool {
    plain(req).is_some()
}

/// A groupable create's checked `(author, question, body)`.
fn plain(req: &CreateAnswer) -> Option<(i64, i64, String)> {
    if !matches!(fields::check_idempotency_key(&req.idempotency_key), Ok(None)) {
        return None;
    }
    let author = check_user_id(req.author_id, LOG_IN_TO_POST).ok()?;
    let question_id = fields::check_id("question_id", req.question_id).ok()?;
    Some((author, question_id, fields::clean_text(fields::ANSWER_BODY, &req.body).ok()?))
}

/// Writes a group of answer creates gathered by group commit
/// ([`crate::infra::group_commit`]) together: one transaction, one statement
/// ([`answers::create_many`]), one commit; one outcome per request, in order.
///
/// Only the common case is made here. A create the group does not make
/// comes back `Alone`, for its caller to run through [`answer`] on its own
/// thread, which decides every refusal exactly as it does for a lone
/// create: one that fails its checks or has a key, one whose author's row
/// another transaction holds (skipped, not waited for: a group never queues
/// behind one user's lock), one whose question is missing or whose author
/// is over the posting limit, and every one of a group whose transaction
/// fails (a deadlock, a question deleted under it).
///
/// A group whose COMMIT failed, or drew the unreplicated-commit warning
/// ([`crate::infra::replicas`]), may be committed: its posts are not
/// written again (that would post them twice) but answered with the error,
/// UNAVAILABLE, as a lone create's would be.
pub fn answers(conn: &mut PgConn, reqs: Vec<CreateAnswer>) -> Vec<Result<Grouped, Status>> {
    let mut made: Vec<Option<Result<Created<Answer>, Status>>> = reqs.iter().map(|_| None).collect();
    let posts: Vec<(usize, i64, i64, String)> = reqs
        .iter()
        .enumerate()
        .filter_map(|(i, req)| plain(req).map(|(author, question, body)| (i, author, question, body)))
        .collect();
    if !posts.is_empty() {
        match together(conn, &posts) {
            Ok(rows) => {
                for (i, row) in rows {
                    made[i] = Some(Ok(Created { row, replayed: false }));
                }
            }
            Err(Failed::RolledBack(e)) => {
                log::warn!(target: "posting", "a group of {} answers failed ({e}); each is written alone", posts.len())
            }
            Err(Failed::MaybeCommitted(e)) => {
                log::error!(target: "posting", "a group of {} answers may be committed: {e}", posts.len());
                for p in &posts {
                    made[p.0] = Some(Err(e.clone()));
                }
            }
        }
    }
    reqs.into_iter()
        .zip(made)
        .map(|(req, made)| match made {
            Some(result) => result.map(Grouped::Made),
            None => Ok(Grouped::Alone(req)),
        })
        .collect()
}

/// How a group's transaction failed: before its COMMIT (nothing written,
/// each post may be written alone), or at or after it (its rows may be in).
enum Failed {
    RolledBack(Status),
    MaybeCommitted(Status),
}

impl From<Status> for Failed {
    fn from(e: Status) -> Failed {
        Failed::RolledBack(e)
    }
}

impl From<DbError> for Failed {
    fn from(e: DbError) -> Failed {
        Failed::RolledBack(e.into())
    }
}

/// The group's one transaction: lock the authors that are free, insert
/// what fits, commit; gives `(request index, answer)` for each answer made.
fn together(conn: &mut PgConn, posts: &[(usize, i64, i64, String)]) -> Result<Vec<(usize, Answer)>, Failed> {
    let mut tx = begin(conn)?;
    let mut authors: Vec<i64> = posts.iter().map(|p| p.1).collect();
    authors.sort_unstable();
    authors.dedup();
    let locked = users::lock_free(&mut tx, &authors)?;
    let (index, posts): (Vec<usize>, Vec<answers::NewAnswer<'_>>) = posts
        .iter()
        .filter(|p| locked.binary_search(&p.1).is_ok())
        .map(|p| (p.0, answers::NewAnswer { question_id: p.2, body: &p.3, author: p.1 }))
        .unzip();
    let made = answers::create_many(&mut tx, &posts, &ratelimit::ANSWERS)?;
    commit(tx).map_err(Failed::MaybeCommitted)?;
    if replicas::take_unreplicated() {
        return Err(Failed::MaybeCommitted(replicas::unreplicated()));
    }
    Ok(made.into_iter().filter_map(|(k, a)| index.get(k).map(|&i| (i, a))).collect())
}

/// Creates a comment (at most 10 a minute per user by default: cheap as
/// each one is, a flood of them buries a thread).
pub fn comment(conn: &mut PgConn, req: CreateComment) -> Result<Created<Comment>, Status> {
    let author = check_user_id(req.author_id, LOG_IN_TO_POST)?;
    let answer_id = fields::check_id("answer_id", req.answer_id)?;
    let body = fields::clean_text(fields::COMMENT_BODY, &req.body)?;
    let print: [&str; 2] = [&answer_id.to_string(), &body];
    let post = Post::new("comment", author, &req.idempotency_key, &print, &ratelimit::COMMENTS)?;
    post.create(
        conn,
        |tx, id| comments::get(tx, id),
        |tx, limit| {
            let made = under(("answer", answer_id), comments::create(tx, answer_id, &body, Some(author), limit));
            let comment = within(limit, author, made?)?;
            Ok(New::Row(comment.id, comment))
        },
    )
}
