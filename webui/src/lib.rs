//! stackwire's web pages: the HTML side of the Q&A site.
//!
//! The webui is a service like the others: the balancer hands it each page
//! request as an `HttpRequest` over RPC (`WEB_HANDLE`) and relays the
//! `HttpResponse`. It holds no data; every page is built from typed RPC calls
//! to the question, answer, comment, user and vote services, found through
//! the registry.
//!
//! - [`routes`]: paths, methods, the CSRF check, the session, statuses; the
//!   handlers are in `routes/` beside it (read, post, edit, account).
//! - [`auth`]: cookies, the viewer, safe `next` links; [`csrf`]: the
//!   form token, an HMAC of the session (or pre-session id) under a shared secret.
//! - [`pages`] (shared pieces and message pages) with [`pages::list`],
//!   [`pages::thread`] and `pages::forms` beside it: HTML from the services'
//!   messages.
//! - [`html`]: escaping and the layout; [`markdown`]: bodies rendered safely;
//!   [`ago`]: relative times and the render clock; [`highlight`]: code
//!   blocks coloured by language; [`identicon`]: a picture per user.
//! - [`forms`]: reading and checking what users send.
//! - [`backend`]: the calls and their errors; `backend_rpc`: over the registry.
//! - `page_cache`: rendered read pages and confirmed sessions kept in memory,
//!   coherent across instances ([`coherent`]).
//! - [`server`]: the process: RPC server, registration, signals, drain, `/metrics`;
//!   [`views`]: view counts, gathered in memory and flushed in batches.
//!
//! The modules public here are the ones the binary (`main.rs`) and the
//! tests under `webui/tests/` name; the rest (`backend_rpc`, `page_cache`,
//! `highlight_langs`, `highlight_scan`, the handlers under `routes/`, `pages::forms`) are the
//! crate's own. Each module's unit tests live in `webui/tests/unit/`, compiled
//! into the library's test binary through `#[path]`.

pub mod ago;
pub mod auth;
pub mod backend;
mod backend_rpc;
pub mod csrf;
pub mod forms;
pub mod highlight;
mod highlight_langs;
mod highlight_scan;
pub mod html;
pub mod identicon;
pub mod markdown;
mod page_cache;
pub mod pages;
pub mod routes;
pub mod server;
pub mod views;
