//! The question service: asks, reads, lists, searches and edits questions,
//! lists tags, and reads a whole thread (question, one page of answers,
//! their comments, the viewer's votes) for the question page.
//!
//! Answers and comments are written by their own services, but a thread is
//! read here, in one statement ([`store::threads`]): reads may join any
//! table (see [`crate::store`]), and a page view that waited on two more
//! services, one after the other, cost four RPC hops and ten transactions
//! where one query does. No other service is called to read a thread.
//!
//! The HTTP routes are in [`crate::doors::question_web`]; the create transaction in
//! [`crate::flows::posting`], edits in [`crate::flows::edits`], search parsing in
//! [`crate::search`].

use crate::auth::Auth;
use crate::changes;
use crate::fields::{self, Target};
use crate::flows::edits::{self, LOG_IN_TO_EDIT};
use crate::flows::posting::{self, Created, LOG_IN_TO_POST};
use crate::infra::db::Db;
use crate::search;
use crate::store;
use crate::store::Start;
use coherent::{Store, Versions, Weigh};
use proto::methods::WEB_HANDLE;
use proto::pb::{
    CreateQuestion, EditPost, Empty, Exists, Id, ListQuestions, Question, QuestionPage, RevisionList, SearchQuery,
    TagList, Thread, ThreadQuery, ViewCounts,
};
use proto::rpc_server::Later;
use proto::services::question_service;
use proto::{CallContext, Handler, Status};
use std::sync::Arc;

/// Answers on one page of a thread.
pub const ANSWERS_PER_PAGE: u32 = 30;
/// Most tags `Tags` lists.
pub const MAX_TAG_LIST: i64 = 1000;
/// Most questions in one `AddViews` batch (a webui flushes at most this many).
pub const MAX_VIEW_BATCH: usize = 10_000;
/// Most views one batch may add to one question: a webui counts each viewer
/// once per window, so more than this in one flush is not a count of people.
pub const MAX_VIEWS_PER_ENTRY: i64 = 1_000_000;

/// An encoded `HttpResponse`, as the reply cache keeps it.
pub struct Reply(pub Vec<u8>);

impl Weigh for Reply {
    fn weight(&self) -> usize {
        self.0.capacity()
    }
}

pub struct QuestionService {
    pub(crate) db: Db,
    pub(crate) auth: Auth,
    pub(crate) versions: Arc<Versions>,
    /// Anonymous JSON replies of the read routes ([`crate::doors::question_web`]).
    pub(crate) replies: Arc<Store<Reply>>,
}

impl QuestionService {
    pub fn new(db: Db, auth: Auth, versions: Arc<Versions>, replies: Arc<Store<Reply>>) -> QuestionService {
        QuestionService { db, auth, versions, replies }
    }

    pub fn create_as(&self, ctx: &CallContext<'_>, req: CreateQuestion) -> Result<Created<Question>, Status> {
        let mut conn = self.db.conn_for(ctx)?;
        let created = posting::question(&mut conn, req)?;
        changes::created(&self.versions, created.row.id, created.row.author_id)?;
        if created.replayed {
            log::info!(target: "Question::Worker", "question {} replayed for its idempotency key", created.row.id);
        } else {
            log::info!(target: "Question::Worker", "created question {}", created.row.id);
        }
        Ok(created)
    }

    pub fn thread_for(&self, ctx: &CallContext<'_>, req: ThreadQuery) -> Result<Thread, Status> {
        let missing = fields::lookup("question", req.id)?;
        let page = fields::check_page("answer_page", req.answer_page)?;
        self.db
            .read(ctx, |c| store::threads::read(&mut **c, req.id, page, ANSWERS_PER_PAGE, req.viewer_id.max(0)))?
            .ok_or_else(missing)
    }

    pub fn edit_as(&self, ctx: &CallContext<'_>, req: EditPost) -> Result<Question, Status> {
        let mut conn = self.db.conn_for(ctx)?;
        let q = edits::edit_question(&mut conn, req)?;
        changes::announce(&self.versions, &changes::post(q.id, &[]))?;
        Ok(q)
    }
}

/// The typed methods, as the proto declares them (`proto::services::question_service`).
impl question_service::Server for QuestionService {
    fn create(&self, ctx: &CallContext<'_>, mut req: CreateQuestion) -> Result<Question, Status> {
        req.author_id = self.auth.acting(ctx, req.author_id, LOG_IN_TO_POST)?;
        self.create_as(ctx, req).map(|c| c.row)
    }

    fn get(&self, ctx: &CallContext<'_>, req: Id) -> Result<Question, Status> {
        let missing = fields::lookup("question", req.id)?;
        self.db.read(ctx, |c| store::questions::get(&mut **c, req.id))?.ok_or_else(missing)
    }

    fn list(&self, ctx: &CallContext<'_>, req: ListQuestions) -> Result<QuestionPage, Status> {
        let (page, per_page) = fields::page_window(req.page, req.per_page)?;
        let sort = fields::parse_sort(&req.sort)?;
        let tag = match req.tag.trim() {
            "" => None,
            t => Some(fields::check_tag(t)?),
        };
        let start = match req.after {
            0 => Start::Page(fields::check_page("page", page)?),
            after => Start::After(fields::check_id("after", after)?),
        };
        let (questions, has_more) =
            self.db.read(ctx, |c| store::questions::list(&mut **c, sort, tag.as_deref(), start, per_page))?;
        Ok(QuestionPage { questions, page, has_more })
    }

    fn exists(&self, ctx: &CallContext<'_>, req: Id) -> Result<Exists, Status> {
        if req.id <= 0 {
            return Ok(Exists { exists: false });
        }
        Ok(Exists { exists: self.db.read(ctx, |c| store::questions::exists(&mut **c, req.id))? })
    }

    fn thread(&self, ctx: &CallContext<'_>, mut req: ThreadQuery) -> Result<Thread, Status> {
        req.viewer_id = self.auth.viewing(ctx, req.viewer_id)?;
        self.thread_for(ctx, req)
    }

    fn search(&self, ctx: &CallContext<'_>, req: SearchQuery) -> Result<QuestionPage, Status> {
        let query = search::parse(&req.q)?;
        let (page, per_page) = fields::page_window(req.page, req.per_page)?;
        let (questions, has_more) =
            self.db.read(ctx, |c| store::search::search(&mut **c, &query.words, &query.tags, page, per_page))?;
        Ok(QuestionPage { questions, page, has_more })
    }

    fn tags(&self, ctx: &CallContext<'_>, _req: Empty) -> Result<TagList, Status> {
        Ok(TagList { tags: self.db.read(ctx, |c| store::questions::tag_counts(&mut **c, MAX_TAG_LIST))? })
    }

    fn edit(&self, ctx: &CallContext<'_>, mut req: EditPost) -> Result<Question, Status> {
        req.user_id = self.auth.acting(ctx, req.user_id, LOG_IN_TO_EDIT)?;
        self.edit_as(ctx, req)
    }

    /// Adds a webui's batch of counted views. A malformed batch is refused
    /// whole (INVALID_ARGUMENT), so a bug cannot half-apply one.
    fn add_views(&self, ctx: &CallContext<'_>, req: ViewCounts) -> Result<Empty, Status> {
        if req.ids.len() != req.counts.len() {
            return Err(Status::invalid("ids and counts must pair up"));
        }
        if req.ids.len() > MAX_VIEW_BATCH {
            return Err(Status::invalid(format!("at most {MAX_VIEW_BATCH} questions a batch")));
        }
        if req.ids.iter().any(|&id| id <= 0) || req.counts.iter().any(|&n| !(1..=MAX_VIEWS_PER_ENTRY).contains(&n)) {
            return Err(Status::invalid(format!("ids must be positive and counts 1 to {MAX_VIEWS_PER_ENTRY}")));
        }
        if req.ids.is_empty() {
            return Ok(Empty {});
        }
        let mut conn = self.db.conn_for(ctx)?;
        let updated = store::questions::add_views(&mut *conn, &req.ids, &req.counts)?;
        drop(conn);
        log::debug!(target: "Question::Worker", "added views to {updated} questions");
        if let Err(e) = changes::announce(&self.versions, &changes::views(&req.ids)) {
            log::warn!(target: "Question::Worker", "views stored, caches not told: {}", e.message);
        }
        Ok(Empty {})
    }

    fn revisions(&self, ctx: &CallContext<'_>, req: Id) -> Result<RevisionList, Status> {
        edits::revisions(&self.db, ctx, Target::Question, req.id)
    }
}

impl Handler for QuestionService {
    /// `Web/Handle` goes through the reply cache, which keeps replies
    /// encoded ([`crate::doors::question_web`]); every other method is the
    /// generated dispatcher's.
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        if ctx.method == WEB_HANDLE {
            return self.web_payload(ctx, payload);
        }
        question_service::serve(self, ctx, payload)
    }

    fn take_over(&self, later: Later) -> Result<(), Later> {
        if later.method() == WEB_HANDLE {
            self.web_later(later)
        } else {
            Err(later)
        }
    }

    /// The version reads of the calls taken over are made on the RPC loop
    /// (`coherent::loop_reads`).
    fn loop_work(&self) -> Option<Box<dyn proto::rpc_server::LoopWork>> {
        Some(self.versions.loop_work())
    }
}
