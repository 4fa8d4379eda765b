//! Who is asking: the logged-in user of an HTTP request.
//!
//! A JSON client sends `Authorization: Bearer <token>` (the token from
//! `POST /webserv/user/login`). The `sw_session` cookie the webui sets is
//! honoured too, but only on GET and HEAD: the JSON routes carry no CSRF
//! token, so a cookie must never be enough to change anything through them
//! (the webui itself changes things through typed RPC, not these routes).
//!
//! A typed call (the webui's, or any gRPC client's) carries the same token
//! as `authorization: Bearer <token>` metadata, and a typed method that acts
//! as a user takes the user from it ([`Auth::acting`]), never from the
//! `author_id`/`user_id` in the request: one that names someone else is
//! PERMISSION_DENIED, one without a credential UNAUTHENTICATED.
//!
//! A token is checked with the user service (`UserService/Authenticate`),
//! and what it said is kept under the version of the user's sessions
//! ([`coherent::Sessions`]): the next request with the token costs one Redis
//! read, no call and no SQL, until one of the user's sessions ends; a logout
//! bumps that version, so it takes effect on the very next request
//! everywhere. (Only who the user is matters here, so a vote that moves
//! their reputation does not send the next request to the user service.) A token that cannot be one of
//! ours (wrong length or alphabet) is refused without a call.
//!
//! Writes need a user ([`Auth::require`], 401 otherwise); reads only use one
//! when it is there ([`Auth::viewer`]: the viewer's own votes on a page), so
//! a stale token never breaks reading a public page.

use crate::doors::rpc::Dependency;
use crate::secrets;
use coherent::{Checked, Sessions};
use proto::pb::{HttpRequest, Token, User};
use proto::services::user_service;
use proto::{CallContext, Code, Status};
use registry_agent::{Directory, ServiceClient};
use std::sync::Arc;

/// The cookie the webui keeps the session token in.
pub const SESSION_COOKIE: &str = "sw_session";

/// The message of a 401 for a token that no longer works.
pub const STALE: &str = "your session has expired or was logged out; log in again";

/// The token in `Authorization: Bearer <token>`, if any.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = std::str::from_utf8(req.header("authorization")?).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string()).filter(|t| !t.is_empty())
}

/// The value of cookie `name` in any `Cookie` header.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
        .filter_map(|h| std::str::from_utf8(&h.value).ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

/// The credential a request carries: the bearer token, else (reads only)
/// the session cookie.
pub fn credential(req: &HttpRequest) -> Option<String> {
    bearer(req).or_else(|| matches!(req.method.as_str(), "GET" | "HEAD").then(|| cookie(req, SESSION_COOKIE)).flatten())
}

/// Authenticates requests through the user service.
#[derive(Clone)]
pub struct Auth {
    users: Dependency<user_service::Client<ServiceClient>>,
    sessions: Arc<Sessions>,
}

impl Auth {
    pub fn new(directory: Directory, sessions: Arc<Sessions>) -> Auth {
        Auth { users: Dependency::new(directory, "user", user_service::Client::new), sessions }
    }

    /// The user behind `token`; UNAUTHENTICATED ([`STALE`]) for a token that
    /// is not (or no longer) valid, the user service's failure otherwise.
    /// A session confirmed before, with no session of its user ended since
    /// (a logout), is taken from memory ([`Sessions`]): no call.
    pub fn authenticate(&self, ctx: &CallContext<'_>, token: &str) -> Result<User, Status> {
        if !secrets::is_token_shape(token) {
            return Err(Status::new(Code::Unauthenticated, STALE));
        }
        let confirm = || {
            let token = Token { token: token.to_string() };
            self.users.call(ctx, |users, opts| users.authenticate(opts, &token)).map_err(|s| {
                match s.code {
                    Code::Unauthenticated => Status::new(Code::Unauthenticated, STALE),
                    // The session check is the first step of every authored
                    // request: when it runs out of time (the user service's
                    // database failing over, say) nothing has been done yet, so
                    // the caller hears "unavailable, try again" (503 +
                    // Retry-After), not a gateway timeout it cannot act on.
                    Code::DeadlineExceeded => Status::new(Code::Unavailable, s.message),
                    _ => s,
                }
            })
        };
        if !self.sessions.enabled() {
            return confirm();
        }
        match self.sessions.check(token, confirm) {
            Checked::User(u) => Ok(u),
            Checked::Failed(s) => Err(s),
        }
    }

    /// The logged-in user, or UNAUTHENTICATED with `why` ("log in to post")
    /// when the request carries no credential.
    pub fn require(&self, ctx: &CallContext<'_>, req: &HttpRequest, why: &str) -> Result<User, Status> {
        match bearer(req) {
            Some(token) => self.authenticate(ctx, &token),
            None => Err(Status::new(Code::Unauthenticated, why)),
        }
    }

    /// The viewer of a read, if they are logged in and their session works.
    pub fn viewer(&self, ctx: &CallContext<'_>, req: &HttpRequest) -> Option<User> {
        let token = credential(req)?;
        match self.authenticate(ctx, &token) {
            Ok(u) => Some(u),
            Err(s) => {
                log::info!(target: "auth", "reading anonymously: {s}");
                None
            }
        }
    }

    /// The user a typed call acts as: the one whose session token the call
    /// carries as `authorization: Bearer <token>` metadata (`proto::metadata`),
    /// never an id in the request. `claimed` is the request's own author or
    /// user id: 0 (not given) takes the token's user, another user's id is
    /// PERMISSION_DENIED. No credential is UNAUTHENTICATED with `why`, a
    /// stale one UNAUTHENTICATED ([`STALE`]).
    pub fn acting(&self, ctx: &CallContext<'_>, claimed: i64, why: &str) -> Result<i64, Status> {
        let token = ctx.bearer_token().ok_or_else(|| Status::new(Code::Unauthenticated, why))?;
        let user = self.authenticate(ctx, token)?;
        if claimed != 0 && claimed != user.id {
            log::warn!(target: "auth", "a call claimed user {claimed} with the credential of user {}", user.id);
            return Err(Status::new(
                Code::PermissionDenied,
                format!("the request names user {claimed}, the credential is user {}'s", user.id),
            ));
        }
        Ok(user.id)
    }

    /// The viewer of a typed read (whose own votes a thread shows): the
    /// token's user, or 0 (anonymous) when the call carries no credential
    /// that works and names no viewer. Naming a viewer takes the viewer's
    /// credential, as [`Auth::acting`].
    pub fn viewing(&self, ctx: &CallContext<'_>, claimed: i64) -> Result<i64, Status> {
        if claimed != 0 {
            return self.acting(ctx, claimed, "a viewer's votes need the viewer's credential");
        }
        let Some(token) = ctx.bearer_token() else { return Ok(0) };
        match self.authenticate(ctx, token) {
            Ok(user) => Ok(user.id),
            Err(s) => {
                log::info!(target: "auth", "reading anonymously: {s}");
                Ok(0)
            }
        }
    }
}

/// An author or user id that must name a user (set from the credential, by
/// [`Auth::acting`] or an HTTP route's [`Auth::require`]): 0 means nobody
/// logged in.
pub fn check_user_id(id: i64, why: &str) -> Result<i64, Status> {
    if id > 0 {
        Ok(id)
    } else {
        Err(Status::new(Code::Unauthenticated, why))
    }
}

#[cfg(test)]
#[path = "../tests/unit/auth.rs"]
mod tests;
