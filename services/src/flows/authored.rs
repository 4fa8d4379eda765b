//! The one authored-create flow over HTTP, shared by `POST /webserv/question`,
//! `/webserv/answer` and `/webserv/comment`:
//!
//! 1. authenticate: the bearer token's user, else 401 ("log in to post");
//! 2. idempotency: the client's `Idempotency-Key` header (400 when malformed);
//! 3. read the body (415 or 400 as it is) into the typed create request,
//!    whose fields name themselves when missing (400);
//! 4. store it through the service's own `create_as` (which validates the
//!    fields, runs the transaction in [`crate::flows::posting`] and announces the
//!    change), the same path the typed RPC method takes;
//! 5. respond 201 with the row (and, where it can be read back, its
//!    `Location`), marked `Idempotent-Replayed` when the key found an
//!    earlier request's row.
//!
//! The order is the contract's: 401 before any 400, and nothing about the
//! body is looked at for a caller who is not logged in. The typed methods
//! skip steps 1–3 (their user comes from the call's credential,
//! `Auth::acting`) and share step 4.

use crate::auth::Auth;
use crate::doors::web::{self, Body, Stop};
use crate::fields::FieldError;
use crate::flows::posting::{Created, LOG_IN_TO_POST};
use proto::fields::Authored;
use proto::pb::{HttpRequest, HttpResponse};
use proto::{CallContext, Status};

/// One create of kind `R` over HTTP, steps 1 to 5: `read` makes the typed
/// request from the body, `store` creates it, `respond` makes the 201 of the
/// new row.
pub fn create<R: Authored, T>(
    auth: &Auth,
    ctx: &CallContext<'_>,
    req: &HttpRequest,
    read: fn(&Body, &str) -> Result<R, FieldError>,
    store: impl FnOnce(R) -> Result<Created<T>, Status>,
    respond: impl FnOnce(&T) -> HttpResponse,
) -> HttpResponse {
    let run = || -> Result<HttpResponse, Stop> {
        let user = auth.require(ctx, req, LOG_IN_TO_POST)?;
        let key = web::idempotency_key(req)?;
        let body = Body::read(req)?;
        let mut create = read(&body, ctx.request_id)?;
        create.sign(user.id, key);
        let created = store(create)?;
        Ok(created.respond(respond(&created.row)))
    };
    run().unwrap_or_else(Stop::into_response)
}
