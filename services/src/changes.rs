//! Telling every cache what a write changed ([`coherent`]): after a write's
//! transaction commits and before its caller hears of it, the versions of
//! the topics it changed are bumped, so no instance serves what it held
//! about them any more.
//!
//! Which topics each write changes, written once here:
//! - a new question, answer or comment: the site (lists, counts), its
//!   thread, and its author (their counts);
//! - a vote: the site (scores in lists), the thread, and the post's author
//!   (reputation);
//! - an accept: the site, the thread, and the authors of the answers
//!   accepted now and before (reputation moves between them);
//! - an edit: the site and the thread;
//! - a logout: the user's sessions;
//! - a batch of page views: the site (view counts in lists) and each
//!   viewed thread. Unlike the others, a batch whose bump fails still
//!   succeeds: its views are stored, and a page that shows a count a few
//!   seconds old is what docs/pages.md promises anyway (failing it would
//!   make the webui send the batch again and count it twice).
//!
//! A bump that fails fails the call with UNAVAILABLE: the write is
//! committed but must not be acknowledged as visible everywhere; the client's
//! retry with the same idempotency key finds the row and bumps again.

use coherent::{Topic, Versions};
use proto::{Code, Status};

/// The topics of a write to a post in thread `question_id` by or on the
/// post of `authors` (absent authors skipped).
pub fn post(question_id: i64, authors: &[Option<i64>]) -> Vec<Topic> {
    let mut topics = vec![Topic::Site, Topic::Thread(question_id)];
    topics.extend(authors.iter().flatten().map(|&a| Topic::User(a)));
    topics
}

/// Bumps the topics of a new post in thread `question_id` by `author_id`
/// (0: none): the create rule above.
pub fn created(versions: &Versions, question_id: i64, author_id: i64) -> Result<(), Status> {
    created_together(versions, &[(question_id, author_id)])
}

/// Bumps the topics of several new posts, `(thread, author)` each, in one
/// round trip (a group commit's answers: see `AnswerService::create_as`);
/// a topic two of them share is bumped once.
pub fn created_together(versions: &Versions, posts: &[(i64, i64)]) -> Result<(), Status> {
    let mut topics: Vec<Topic> = posts
        .iter()
        .flat_map(|&(question_id, author_id)| post(question_id, &[Some(author_id).filter(|&a| a > 0)]))
        .collect();
    topics.sort_unstable();
    topics.dedup();
    announce(versions, &topics)
}

/// The topics of a batch of views of the questions `ids`.
pub fn views(ids: &[i64]) -> Vec<Topic> {
    std::iter::once(Topic::Site).chain(ids.iter().map(|&id| Topic::Thread(id))).collect()
}

/// Bumps `topics`.
pub fn announce(versions: &Versions, topics: &[Topic]) -> Result<(), Status> {
    versions.bump(topics).map_err(|e| {
        Status::new(Code::Unavailable, format!("{e}; the change is saved: repeat it with the same Idempotency-Key"))
    })
}
