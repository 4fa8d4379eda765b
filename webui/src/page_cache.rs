//! Rendered pages kept in memory, served again while nothing they show has
//! changed anywhere ([`coherent`]): a page view that hits costs one Redis
//! round trip and a copy, no RPC and no SQL, logged in or not.
//!
//! What is kept, per process:
//! - `pages`: the response of a GET of a read route (lists, tags, search,
//!   user pages: topic `site`; a question page or its history: its thread),
//!   keyed by the viewer's user id (0 for visitors) and the path with its
//!   query, stamped with the versions of its topics and, for a logged-in
//!   viewer, of that user (the header shows their reputation).
//! - sessions the user service confirmed, and whose they are
//!   ([`coherent::Sessions`]): stamped with the versions of the user's
//!   sessions (a logout bumps it) and of the user (the header shows their
//!   reputation), so either change is seen by the next request.
//!
//! Every page carries CSRF tokens in its forms, and those differ per visitor
//! (they are bound to the session, or to the visitor's pre-session id); the
//! forms that create a post also carry an idempotency key, fresh for every
//! page view (so that a resubmitted form is one post and two views are two).
//! A page is therefore rendered for the cache with [`PLACEHOLDER`] as its
//! token and [`IDEM_PLACEHOLDER`] as each key, kept split at the
//! placeholders, and joined on the way out with the visitor's own token and
//! a fresh key per form: the bytes are those the page would have without the
//! cache, random keys included (they are as random either way). The
//! placeholders hold NUL characters, which nothing a user wrote can contain
//! (every text field refuses them, and the markdown renderer replaces them),
//! so they cannot be forged into a page.
//!
//! Only complete 200 pages without cookies of their own are kept.

use crate::auth::Viewer;
use coherent::feed::Invalidate;
use coherent::{Sessions, Stamp, Store, Topic, Versions, Weigh};
use proto::pb::{Header, HttpResponse};
use std::sync::Arc;

/// The CSRF token pages are rendered with for the cache; never sent.
pub const PLACEHOLDER: &str = "\u{0}csrf-for-the-page-cache\u{0}";
/// The idempotency key create forms get in a page rendered for the cache.
pub const IDEM_PLACEHOLDER: &str = "\u{0}idempotency-key-for-the-page-cache\u{0}";

/// The idempotency key of a create form on `viewer`'s page: a fresh random
/// one, or the placeholder when the page is rendered for the cache (whose
/// views each get fresh ones when they are served).
pub fn idempotency_key(viewer: &Viewer) -> String {
    if viewer.csrf == PLACEHOLDER {
        IDEM_PLACEHOLDER.to_string()
    } else {
        crate::csrf::new_token()
    }
}

/// The default budget of each store, KiB (`STACKWIRE_CACHE_KB`).
pub const DEFAULT_KB: usize = 64 * 1024;

/// A rendered page, split where its CSRF tokens and idempotency keys go.
pub struct Page {
    status: u32,
    headers: Vec<Header>,
    parts: Vec<Vec<u8>>,
    /// What goes between `parts[i]` and `parts[i + 1]`.
    holes: Vec<Hole>,
}

/// A placeholder cut out of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    Csrf,
    Idempotency,
}

impl Page {
    /// `resp` as rendered with [`PLACEHOLDER`]; `None` when it must not be
    /// kept (not a 200, or it sets a cookie).
    fn keep(resp: &HttpResponse) -> Option<Page> {
        let sets_cookie = resp.headers.iter().any(|h| h.name.eq_ignore_ascii_case("set-cookie"));
        if resp.status != 200 || sets_cookie {
            return None;
        }
        let (parts, holes) = split(&resp.body);
        Some(Page { status: resp.status, headers: resp.headers.clone(), parts, holes })
    }

    /// The page with `csrf` and fresh keys where the placeholders were.
    fn response(&self, csrf: &str) -> HttpResponse {
        HttpResponse {
            status: self.status,
            headers: self.headers.clone(),
            body: join(&self.parts, &self.holes, csrf).into(),
        }
    }
}

impl Weigh for Page {
    fn weight(&self) -> usize {
        self.parts.iter().map(|p| p.len() + 24).sum::<usize>()
            + self.headers.iter().map(|h| h.name.len() + h.value.len() + 48).sum::<usize>()
    }
}

/// `body` cut at every placeholder: the parts, and what was between them.
fn split(body: &[u8]) -> (Vec<Vec<u8>>, Vec<Hole>) {
    let marks = [(PLACEHOLDER.as_bytes(), Hole::Csrf), (IDEM_PLACEHOLDER.as_bytes(), Hole::Idempotency)];
    let (mut parts, mut holes) = (Vec::new(), Vec::new());
    let mut start = 0;
    let mut i = 0;
    while i < body.len() {
        // Both placeholders start with NUL, which nothing else on a page holds.
        if body[i] == 0 {
            if let Some((mark, hole)) = marks.iter().find(|(m, _)| body[i..].starts_with(m)) {
                parts.push(body[start..i].to_vec());
                holes.push(*hole);
                i += mark.len();
                start = i;
                continue;
            }
        }
        i += 1;
    }
    parts.push(body[start..].to_vec());
    (parts, holes)
}

/// The parts joined, with `csrf` and fresh idempotency keys in the holes.
fn join(parts: &[Vec<u8>], holes: &[Hole], csrf: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum::<usize>() + 64 * holes.len());
    for (i, part) in parts.iter().enumerate() {
        out.extend_from_slice(part);
        match holes.get(i) {
            Some(Hole::Csrf) => out.extend_from_slice(csrf.as_bytes()),
            Some(Hole::Idempotency) => out.extend_from_slice(crate::csrf::new_token().as_bytes()),
            None => {}
        }
    }
    out
}

/// The webui's stores and the versions they are checked against.
pub struct PageCache {
    versions: Arc<Versions>,
    pages: Arc<Store<Page>>,
    sessions: Sessions,
}

impl PageCache {
    /// Stores of `budget` bytes each (0: no caching at all).
    pub fn new(versions: Arc<Versions>, budget: usize) -> PageCache {
        PageCache { pages: Store::new("pages", budget), sessions: Sessions::new(versions.clone(), budget), versions }
    }

    pub fn enabled(&self) -> bool {
        self.pages.enabled()
    }

    /// What the change feed drops values from.
    pub fn feed_targets(&self) -> Vec<Arc<dyn Invalidate>> {
        let mut targets: Vec<Arc<dyn Invalidate>> = vec![self.pages.clone()];
        targets.extend(self.sessions.feed_targets());
        targets
    }

    /// Every store's counters, and the version counters', for `/metrics`.
    pub fn render(&self, out: &mut String) {
        self.versions.render(out);
        self.pages.render(out);
        self.sessions.render(out);
    }

    /// The counters of `topics` now (`None`: Redis is unreachable, so serve
    /// nothing from memory).
    pub fn stamp(&self, topics: &[Topic]) -> Option<Stamp> {
        self.versions.read(topics)
    }

    /// [`PageCache::stamp`] made together with every other read of that
    /// moment, on the RPC loop when it is asked for there (and the loop has
    /// its connection), else on the version reader's thread; `then` runs
    /// on whichever made it.
    pub fn stamp_later(&self, topics: Vec<Topic>, then: Box<dyn FnOnce(Option<Stamp>) + Send>) {
        self.versions.read_later(topics, then)
    }

    /// The work an RPC loop does to make the reads of [`PageCache::stamp_later`]
    /// asked for on it (`coherent::loop_reads`).
    pub fn loop_work(&self) -> Box<dyn proto::rpc_server::LoopWork> {
        self.versions.loop_work()
    }

    /// The session stores.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The page under `key` with `csrf` in its forms, if it was rendered
    /// under exactly `stamp`.
    pub fn page(&self, key: &str, stamp: &Stamp, csrf: &str) -> Option<HttpResponse> {
        self.pages.get(key, stamp).map(|p| p.response(csrf))
    }

    /// Keeps `rendered` (made with [`PLACEHOLDER`] as its token) if it may be
    /// kept, and returns it with `csrf` in its forms.
    pub fn keep(&self, key: &str, stamp: Stamp, rendered: HttpResponse, csrf: &str) -> HttpResponse {
        match Page::keep(&rendered) {
            Some(page) => {
                let out = page.response(csrf);
                self.pages.put(key, stamp, Arc::new(page));
                out
            }
            None => {
                let (parts, holes) = split(&rendered.body);
                HttpResponse { body: join(&parts, &holes, csrf).into(), ..rendered }
            }
        }
    }
}
