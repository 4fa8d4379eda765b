//! stackwire's web pages: the HTML side of the Q&A site.
//!
//! The webui is a service like the others: the balancer hands it each page
//! request as an `HttpRequest` over RPC (`WEB_HANDLE`) and relays the
//! `HttpResponse`. It holds no data; every page is built from typed RPC calls
//! to the question, answer and comment services, found through the registry.
//!
//! - [`html`]: escaping and the shared page layout (no JavaScript, inline CSS).
//! - [`forms`]: reading and checking the ask, answer and comment forms.
//! - [`pages`]: each page rendered from the services' messages.
//! - [`backend`]: the RPC calls, with errors a page can act on.
//! - [`routes`]: paths, methods, statuses and redirects.
//! - [`server`]: the process: RPC server, registration, signals, drain.

pub mod backend;
pub mod forms;
pub mod html;
pub mod pages;
pub mod routes;
pub mod server;
