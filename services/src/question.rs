//! The question service: asks, reads, lists, searches and edits questions,
//! lists tags, and assembles a whole thread (question, one page of answers,
//! their comments, the viewer's votes) for the question page.
//!
//! Answers and comments belong to their own services, so a thread is built by
//! calling them: one `AnswerService/ListForQuestion` for the page of answers
//! (already in thread order: accepted, then score, then oldest), then one
//! `CommentService/ListForAnswers` carrying every answer id of the page at
//! once, never one call per answer. No database connection is held while
//! those calls run, so a slow dependency cannot starve the pool. If either
//! call fails, the thread fails with the dependency's status: a page silently
//! missing its answers would look like a question nobody answered.
//!
//! The HTTP routes are in [`crate::question_web`]; the create transaction in
//! [`crate::posting`], edits in [`crate::edits`], search parsing in
//! [`crate::search`].

use crate::auth::Auth;
use crate::comment::MAX_IDS;
use crate::db::Db;
use crate::edits;
use crate::fields::{self, Sort, Target};
use crate::posting::{self, Created};
use crate::rpc::{self, Dependency};
use crate::search;
use crate::store;
use proto::methods::*;
use proto::pb::{
    Answer, AnswerList, AnswerQuery, AnswerWithComments, Comment, CommentList, CreateQuestion, EditPost, Empty, Exists,
    Id, Ids, ListQuestions, Question, QuestionPage, RevisionList, SearchQuery, TagList, Thread, ThreadQuery,
};
use proto::{CallContext, Handler, Status};
use registry_agent::Directory;
use std::collections::HashMap;

/// Answers on one page of a thread.
pub const ANSWERS_PER_PAGE: u32 = 30;
/// Most tags `Tags` lists.
pub const MAX_TAG_LIST: i64 = 1000;

pub struct QuestionService {
    pub(crate) db: Db,
    answers: Dependency,
    comments: Dependency,
    pub(crate) auth: Auth,
}

impl QuestionService {
    pub fn new(db: Db, directory: Directory) -> QuestionService {
        QuestionService {
            db,
            answers: Dependency::new(directory.clone(), "answer"),
            comments: Dependency::new(directory.clone(), "comment"),
            auth: Auth::new(directory),
        }
    }

    pub fn create(&self, ctx: &CallContext<'_>, req: CreateQuestion) -> Result<Created<Question>, Status> {
        let mut conn = self.db.conn_for(ctx)?;
        let created = posting::question(&mut conn, req)?;
        if created.replayed {
            log::info!(target: "Question::Worker", "question {} replayed for its idempotency key", created.row.id);
        } else {
            log::info!(target: "Question::Worker", "created question {}", created.row.id);
        }
        Ok(created)
    }

    pub fn get(&self, ctx: &CallContext<'_>, req: Id) -> Result<Question, Status> {
        let missing = || Status::not_found(format!("question {} does not exist", req.id));
        if req.id <= 0 {
            return Err(missing());
        }
        let mut conn = self.db.conn_for(ctx)?;
        store::questions::get(&mut *conn, req.id)?.ok_or_else(missing)
    }

    pub fn list(&self, ctx: &CallContext<'_>, req: ListQuestions) -> Result<QuestionPage, Status> {
        let (page, per_page) = fields::page_window(req.page, req.per_page)?;
        let sort = Sort::parse(&req.sort)?;
        let tag = match req.tag.trim() {
            "" => None,
            t => Some(fields::check_tag(t)?),
        };
        let mut conn = self.db.conn_for(ctx)?;
        let (questions, has_more) = store::questions::list(&mut *conn, sort, tag.as_deref(), page, per_page)?;
        Ok(QuestionPage { questions, page, has_more })
    }

    pub fn exists(&self, ctx: &CallContext<'_>, req: Id) -> Result<Exists, Status> {
        if req.id <= 0 {
            return Ok(Exists { exists: false });
        }
        let mut conn = self.db.conn_for(ctx)?;
        Ok(Exists { exists: store::questions::exists(&mut *conn, req.id)? })
    }

    pub fn thread(&self, ctx: &CallContext<'_>, req: ThreadQuery) -> Result<Thread, Status> {
        let question = self.get(ctx, Id { id: req.id })?;
        let page = fields::check_page("answer_page", req.answer_page)?;
        let query = AnswerQuery { id: question.id, page, per_page: ANSWERS_PER_PAGE };
        let answers: AnswerList = self.answers.call(ctx, ANSWER_LIST_FOR_QUESTION, &query)?;
        let ids: Vec<i64> = answers.answers.iter().map(|a| a.id).collect();
        let mut comments = Vec::new();
        for chunk in ids.chunks(MAX_IDS) {
            let list: CommentList = self.comments.call(ctx, COMMENT_LIST_FOR_ANSWERS, &Ids { ids: chunk.to_vec() })?;
            comments.extend(list.comments);
        }
        let my_votes = if req.viewer_id > 0 {
            let mut conn = self.db.conn_for(ctx)?;
            store::votes::of_viewer(&mut *conn, req.viewer_id, question.id, &ids)?
        } else {
            Vec::new()
        };
        let mut t = assemble_thread(question, answers.answers, comments);
        t.answer_page = page;
        t.more_answers = answers.has_more;
        t.my_votes = my_votes;
        Ok(t)
    }

    pub fn search(&self, ctx: &CallContext<'_>, req: SearchQuery) -> Result<QuestionPage, Status> {
        let query = search::parse(&req.q)?;
        let (page, per_page) = fields::page_window(req.page, req.per_page)?;
        let mut conn = self.db.conn_for(ctx)?;
        let (questions, has_more) = store::search::search(&mut *conn, &query.words, &query.tags, page, per_page)?;
        Ok(QuestionPage { questions, page, has_more })
    }

    pub fn tags(&self, ctx: &CallContext<'_>, _req: Empty) -> Result<TagList, Status> {
        let mut conn = self.db.conn_for(ctx)?;
        Ok(TagList { tags: store::questions::tag_counts(&mut *conn, MAX_TAG_LIST)? })
    }

    pub fn edit(&self, ctx: &CallContext<'_>, req: EditPost) -> Result<Question, Status> {
        let mut conn = self.db.conn_for(ctx)?;
        edits::edit_question(&mut conn, req)
    }

    pub fn revisions(&self, ctx: &CallContext<'_>, req: Id) -> Result<RevisionList, Status> {
        let mut conn = self.db.conn_for(ctx)?;
        edits::revisions(&mut conn, Target::Question, req.id)
    }
}

impl Handler for QuestionService {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        match ctx.method {
            QUESTION_CREATE => rpc::unary(payload, "CreateQuestion", |r| self.create(ctx, r).map(|c| c.row)),
            QUESTION_GET => rpc::unary(payload, "Id", |r| self.get(ctx, r)),
            QUESTION_LIST => rpc::unary(payload, "ListQuestions", |r| self.list(ctx, r)),
            QUESTION_EXISTS => rpc::unary(payload, "Id", |r| self.exists(ctx, r)),
            QUESTION_THREAD => rpc::unary(payload, "ThreadQuery", |r| self.thread(ctx, r)),
            QUESTION_SEARCH => rpc::unary(payload, "SearchQuery", |r| self.search(ctx, r)),
            QUESTION_TAGS => rpc::unary(payload, "Empty", |r| self.tags(ctx, r)),
            QUESTION_EDIT => rpc::unary(payload, "EditPost", |r| self.edit(ctx, r)),
            QUESTION_REVISIONS => rpc::unary(payload, "Id", |r| self.revisions(ctx, r)),
            WEB_HANDLE => rpc::unary(payload, "HttpRequest", |r| Ok(self.web(ctx, r))),
            other => Err(rpc::unimplemented(other)),
        }
    }
}

/// Hangs each comment under its answer, keeping the answers' order and each
/// answer's comments in the order given (oldest first).
pub fn assemble_thread(question: Question, answers: Vec<Answer>, comments: Vec<Comment>) -> Thread {
    let mut by_answer: HashMap<i64, Vec<Comment>> = HashMap::new();
    for c in comments {
        by_answer.entry(c.answer_id).or_default().push(c);
    }
    let answers = answers
        .into_iter()
        .map(|a| AnswerWithComments { comments: by_answer.remove(&a.id).unwrap_or_default(), answer: Some(a) })
        .collect();
    Thread { question: Some(question), answers, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_group_comments_under_their_answers_in_order() {
        let q = Question { id: 1, ..Default::default() };
        let a = |id| Answer { id, question_id: 1, ..Default::default() };
        let c = |id, answer_id| Comment { id, answer_id, ..Default::default() };
        let t = assemble_thread(q, vec![a(10), a(11), a(12)], vec![c(1, 10), c(2, 12), c(3, 10), c(4, 99)]);
        let got: Vec<(i64, Vec<i64>)> = t
            .answers
            .iter()
            .map(|awc| (awc.answer.as_ref().unwrap().id, awc.comments.iter().map(|c| c.id).collect()))
            .collect();
        assert_eq!(got, vec![(10, vec![1, 3]), (11, vec![]), (12, vec![2])]);
        assert_eq!(t.question.unwrap().id, 1);
    }
}
