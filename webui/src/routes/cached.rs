//! GETs of read pages through the page cache ([`PageCache`]), two ways.
//!
//! A worker ([`get`]) reads the versions of what the page shows (and of the
//! logged-in viewer), confirms the session from the cache under that stamp
//! or with the user service, and serves the page from the cache if it was
//! rendered under the same stamp, else renders it (with the cache's CSRF
//! placeholder) and keeps it.
//!
//! The RPC loop ([`lookup`], then [`Lookup::answer`]) does the part that
//! needs no call and no SQL: it works out the page's topics on the loop and
//! asks for the version read, which the loop itself makes at the end of its
//! turn together with every other read of that turn (one Redis round trip
//! for many pages, `coherent::loop_reads`; the cache's reader thread when
//! the loop has no Redis connection), and answers a hit when it arrives. Anything else (a page not kept
//! under the stamp, a session this process has not confirmed under it, a
//! token seen here for the first time) goes to a worker, which runs [`get`]
//! from the start. Both ways share every rule below: the same topics, the
//! same viewer from the session cache, the same key, the same bytes.

use super::{dispatch, Ctx, Opening, Route};
use crate::auth::{self, Viewer};
use crate::backend::{Backend, Call};
use crate::csrf;
use crate::page_cache::{PageCache, PLACEHOLDER};
use coherent::{Stamp, Topic};
use proto::pb::{HttpRequest, HttpResponse};

/// What a page of a read route shows, for the page cache: the site (lists,
/// tags, search, user pages) or one thread (a question page and its
/// history); `None` for every other page.
pub(super) fn topics(r: &Route) -> Option<Vec<Topic>> {
    match r {
        Route::Home | Route::Tags | Route::Tag(_) | Route::Search | Route::User(_) => Some(vec![Topic::Site]),
        Route::Question(id) | Route::QuestionRevisions(id) => Some(vec![Topic::Thread(*id)]),
        _ => None,
    }
}

/// Who asks for a cached page: the session token, if any, and whose it is
/// when this process knows already.
struct Asker {
    token: Option<String>,
    owner: Option<i64>,
}

impl Asker {
    fn of(cache: &PageCache, req: &HttpRequest) -> Asker {
        let token = auth::session_token(req);
        let owner = token.as_deref().and_then(|t| cache.sessions().owner(t));
        Asker { token, owner }
    }

    /// A token whose owner must first be learnt from the user service.
    fn unknown(&self) -> bool {
        self.token.is_some() && self.owner.is_none()
    }

    /// The page's topics and, for a logged-in viewer, their sessions (a
    /// logout) and what their header shows (reputation).
    fn topics(&self, mut topics: Vec<Topic>) -> Vec<Topic> {
        if let Some(u) = self.owner {
            topics.extend([Topic::Sessions(u), Topic::User(u)]);
        }
        topics
    }

    /// `viewer` as the logged-in user under `stamp`, from the session cache;
    /// `Err` with the user's stamp when the user service must confirm it.
    fn viewer(
        &self,
        cache: &PageCache,
        key: &csrf::Key,
        stamp: &Stamp,
        viewer: &Viewer,
    ) -> Option<Result<Viewer, Stamp>> {
        let mut viewer = viewer.clone();
        if let (Some(t), Some(u)) = (&self.token, self.owner) {
            let user_stamp = stamp.project(&[Topic::Sessions(u), Topic::User(u)])?;
            let Some(user) = cache.sessions().get(t, &user_stamp) else { return Some(Err(user_stamp)) };
            viewer.user = Some(user);
            viewer.csrf = key.token(csrf::Binding::Session(t));
        }
        Some(Ok(viewer))
    }
}

/// The key a page is kept under. The render minute is part of it: relative
/// times ("5 mins ago") are the only thing on a page that changes with the
/// clock alone, and they change at most once a minute (crate::ago), so a
/// page kept under its minute is the page an uncached render would give now.
/// A page left from an earlier minute is a miss, and ages out of the store.
fn page_key(viewer: &Viewer) -> String {
    format!("{} {} {}", viewer.now_ms, viewer.id(), viewer.here)
}

/// The page from the cache, with `viewer`'s own token in its forms, if it
/// was kept under `stamp`.
fn kept(cache: &PageCache, stamp: &Stamp, viewer: &Viewer) -> Option<HttpResponse> {
    cache.page(&page_key(viewer), stamp, &viewer.csrf)
}

/// A GET of a read page through the page cache, on a worker. `None` when
/// the cache cannot decide (Redis unreachable, a token seen here for the
/// first time, a session that is not good any more): the caller serves the
/// request without it.
pub(super) fn get(
    cache: &PageCache,
    backend: &dyn Backend,
    key: &csrf::Key,
    call: &Call,
    req: &HttpRequest,
    r: &Route,
    viewer: &Viewer,
) -> Option<HttpResponse> {
    let topics = topics(r)?;
    let asker = Asker::of(cache, req);
    if let (Some(t), true) = (&asker.token, asker.unknown()) {
        // Whose session this is must be known before its user's version can
        // be read: learn it now, cache from the next request on.
        if let Ok(u) = backend.authenticate(call, t) {
            cache.sessions().set_owner(t, u.id);
        }
        return None;
    }
    let stamp = cache.stamp(&asker.topics(topics))?;
    let mut viewer = match asker.viewer(cache, key, &stamp, viewer)? {
        Ok(v) => v,
        Err(user_stamp) => {
            let (t, u) = (asker.token.as_deref()?, asker.owner?);
            let mut v = viewer.clone();
            match backend.authenticate(call, t) {
                Ok(user) if user.id == u => {
                    cache.sessions().put(t, user_stamp, user.clone());
                    v.user = Some(user);
                    v.csrf = key.token(csrf::Binding::Session(t));
                    v
                }
                // Ended, or not checkable now: the uncached path says which.
                _ => return None,
            }
        }
    };
    if let Some(resp) = kept(cache, &stamp, &viewer) {
        return Some(resp);
    }
    let csrf_token = std::mem::replace(&mut viewer.csrf, PLACEHOLDER.to_string());
    let page_key = page_key(&viewer);
    let mut ctx = Ctx {
        backend,
        call,
        req,
        viewer,
        token: asker.token,
        auth_down: None,
        form: Vec::new(),
        back: r.page(&req.path),
    };
    let rendered = dispatch(&mut ctx, r, "GET");
    Some(cache.keep(&page_key, stamp, rendered, &csrf_token))
}

/// A GET the page cache may answer without a worker, worked out on the loop:
/// read the versions of [`Lookup::topics`], then [`Lookup::answer`].
pub struct Lookup {
    opening: Opening,
    asker: Asker,
    topics: Vec<Topic>,
}

/// The lookup of a GET (or HEAD) of a read page whose asker this process
/// knows; `None` for everything else, which a worker serves ([`get`] or the
/// uncached path) exactly as `handle_cached` decides.
pub fn lookup(cache: &PageCache, key: &csrf::Key, req: &HttpRequest) -> Option<Lookup> {
    if !cache.enabled() || !(req.method == "GET" || req.method == "HEAD") {
        return None;
    }
    let r = super::route(&req.path)?;
    let topics = topics(&r)?;
    let opening = Opening::new(key, req);
    if !r.allows(&opening.method) || opening.query_error.is_some() {
        return None;
    }
    let asker = Asker::of(cache, req);
    if asker.unknown() {
        return None;
    }
    let topics = asker.topics(topics);
    Some(Lookup { opening, asker, topics })
}

impl Lookup {
    /// The topics whose versions decide the answer.
    pub fn topics(&self) -> Vec<Topic> {
        self.topics.clone()
    }

    /// The response, if the page and the viewer's session are kept under
    /// `stamp`; `None` sends the request to a worker.
    pub fn answer(&self, cache: &PageCache, key: &csrf::Key, stamp: &Stamp) -> Option<HttpResponse> {
        let viewer = self.asker.viewer(cache, key, stamp, &self.opening.viewer)?.ok()?;
        kept(cache, stamp, &viewer).map(|resp| self.opening.close(resp))
    }
}
