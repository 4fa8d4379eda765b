//! The vote service: one vote per user and post, up or down.
//!
//! Casting runs in one transaction: lock the post's row (404 when there is
//! none; concurrent votes on one post queue here), refuse a vote on your own
//! post (403), then compare with the voter's current vote: the same
//! direction again takes the vote back, the other direction flips it, none
//! adds it. The vote row and the post's `score` change together, by the
//! difference, so the score always equals the sum of the votes; reputation
//! is computed from the votes ([`crate::store::users`]), so it follows.
//!
//! HTTP: `POST /webserv/vote` (target `question`|`answer`, id, direction
//! `up`|`down`) with `Authorization: Bearer` → 200 `{"score", "vote"}` where
//! vote is the caller's vote now: `up`, `down` or `none`.

use crate::auth::{check_user_id, Auth};
use crate::changes;
use crate::doors::json;
use crate::doors::web::{self, Body, Stop};
use crate::fields::{self, FieldError, Target};
use crate::infra::db::{Db, DbError};
use crate::store::votes;
use coherent::Versions;
use proto::pb::{CastVote, HttpRequest, HttpResponse, VoteResult};
use proto::services::vote_service;
use proto::{CallContext, Code, Status};
use std::sync::Arc;

pub const PREFIX: &str = "/webserv/vote";
pub const LOG_IN_TO_VOTE: &str = "log in to vote";

pub struct VoteService {
    db: Db,
    auth: Auth,
    versions: Arc<Versions>,
}

/// The vote after casting `direction` over `current`, and the score change.
pub fn next_vote(current: Option<i16>, direction: i16) -> (Option<i16>, i64) {
    let next = if current == Some(direction) { None } else { Some(direction) };
    (next, i64::from(next.unwrap_or(0)) - i64::from(current.unwrap_or(0)))
}

impl VoteService {
    pub fn new(db: Db, auth: Auth, versions: Arc<Versions>) -> VoteService {
        VoteService { db, auth, versions }
    }

    pub fn cast_as(&self, ctx: &CallContext<'_>, req: CastVote) -> Result<VoteResult, Status> {
        let user = check_user_id(req.user_id, LOG_IN_TO_VOTE)?;
        let target = Target::parse(&req.target)?;
        let direction = fields::parse_direction(&req.direction)?;
        let missing = fields::lookup(target.as_str(), req.id)?;
        let mut conn = self.db.conn_for(ctx)?;
        let mut tx = conn.transaction().map_err(DbError::from)?;
        let (author, question) = votes::lock_post(&mut tx, target, req.id)?.ok_or_else(missing)?;
        if author == Some(user) {
            return Err(Status::new(
                Code::PermissionDenied,
                format!("you cannot vote on your own {}", target.as_str()),
            ));
        }
        let (next, delta) = next_vote(votes::current(&mut tx, user, target, req.id)?, direction);
        votes::set(&mut tx, user, target, req.id, next).map_err(|e| {
            if e.is_foreign_key_violation() {
                Status::new(Code::Unauthenticated, format!("user {user} does not exist; log in again"))
            } else {
                e.to_status()
            }
        })?;
        let score = votes::add_score(&mut tx, target, req.id, delta)?;
        tx.commit().map_err(DbError::from)?;
        changes::announce(&self.versions, &changes::post(question, &[author]))?;
        let vote = json::vote_word(i32::from(next.unwrap_or(0))).to_string();
        log::info!(target: "Vote::Worker", "user {user} on {} {}: {vote}, score {score}", target.as_str(), req.id);
        Ok(VoteResult { score, vote })
    }

    fn web(&self, ctx: &CallContext<'_>, req: HttpRequest) -> HttpResponse {
        if let Err(resp) = web::routed(&req, route) {
            return resp;
        }
        let run = || -> Result<HttpResponse, Stop> {
            let user = self.auth.require(ctx, &req, LOG_IN_TO_VOTE)?;
            let body = Body::read(&req)?;
            let mut cast = cast_request(&body)?;
            cast.user_id = user.id;
            Ok(HttpResponse::json(200, &json::vote_json(&self.cast_as(ctx, cast)?)))
        };
        run().unwrap_or_else(Stop::into_response)
    }
}

/// The typed methods, as the proto declares them (`proto::services::vote_service`).
impl vote_service::Server for VoteService {
    fn cast(&self, ctx: &CallContext<'_>, mut req: CastVote) -> Result<VoteResult, Status> {
        req.user_id = self.auth.acting(ctx, req.user_id, LOG_IN_TO_VOTE)?;
        self.cast_as(ctx, req)
    }
}

web::rpc_faces!(VoteService, vote_service);

/// `POST /webserv/vote` is the only route.
pub fn route(req: &HttpRequest) -> Result<(), HttpResponse> {
    match web::below(&req.path, PREFIX).as_deref() {
        Some([]) => web::allow(req, &["POST"]),
        _ => Err(web::not_found(req)),
    }
}

/// A `CastVote` from a form or JSON body, each field checked and named.
pub fn cast_request(body: &Body) -> Result<CastVote, FieldError> {
    let target = Target::parse(body.text("target")?)?;
    let id = body.id("id")?;
    let direction = body.text("direction")?;
    fields::parse_direction(direction)?;
    Ok(CastVote { target: target.as_str().into(), id, direction: direction.trim().into(), user_id: 0 })
}

#[cfg(test)]
#[path = "../tests/unit/vote.rs"]
mod tests;
