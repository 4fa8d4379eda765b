//! The user service: accounts, sessions, and the user page.
//!
//! Sign-up stores an argon2id hash ([`crate::secrets`]); a taken name
//! (case-insensitively) is ALREADY_EXISTS (409). Login checks the password
//! and creates a session: a random 128-bit token, returned once, of which only
//! the sha256 is stored, valid 30 days. A wrong password and an unknown name
//! get the same UNAUTHENTICATED (401) after the same amount of work, so the
//! reply does not tell which names exist. `Authenticate` maps a token to its
//! user for every other service, on every request; logout deletes the
//! session, so the token stops working at once everywhere.
//!
//! The hashing runs before a database connection is taken: argon2 takes tens
//! of milliseconds and a pooled connection should not wait on it.
//!
//! Failed logins are throttled per username and per client address, and
//! sign-ups per address ([`crate::throttle`]; the limits are in
//! `proto::limits`): past a limit the reply is 429 with `Retry-After`.
//!
//! HTTP (through `Web/Handle`):
//! - `POST /webserv/user` (username, password) → 201 the user
//! - `POST /webserv/user/login` (username, password) → 200 `{"token","user"}`
//! - `POST /webserv/user/logout` with `Authorization: Bearer` → 204
//! - `GET /webserv/user/{username}` → the user page (reputation, counts,
//!   newest questions and answers)

use crate::auth;
use crate::changes;
use crate::doors::json;
use crate::doors::web::{self, Body};
use crate::fields;
use crate::infra::db::Db;
use crate::secrets;
use crate::store;
use crate::store::Start;
use crate::throttle::{self, LoginKeys};
use coherent::Versions;
use proto::pb::{Empty, HttpRequest, HttpResponse, LogIn, Session, SignUp, Token, User, UserPage, Username};
use proto::services::user_service::{self, Server as _};
use proto::{CallContext, Code, Status};
use std::sync::Arc;

pub const PREFIX: &str = "/webserv/user";

/// Questions and answers on one page of a user page's lists.
pub const PAGE_POSTS: u32 = 30;

/// Names that are routes, not users.
const RESERVED: &[&str] = &["login", "logout"];

pub const WRONG_LOGIN: &str = "wrong username or password";

pub struct UserService {
    db: Db,
    versions: Arc<Versions>,
}

fn unauthenticated(message: &str) -> Status {
    Status::new(Code::Unauthenticated, message)
}

impl UserService {
    pub fn new(db: Db, versions: Arc<Versions>) -> UserService {
        UserService { db, versions }
    }

    fn web(&self, ctx: &CallContext<'_>, req: HttpRequest) -> HttpResponse {
        let route = match web::routed(&req, route) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let result = match route {
            WebRoute::SignUp => match read_credentials(&req) {
                Ok((username, password)) => self
                    .create(ctx, SignUp { username, password, client_addr: req.client_addr.clone() })
                    .map(|user| web::created(&format!("{PREFIX}/{}", user.username), &json::user_json(&user))),
                Err(resp) => return resp,
            },
            WebRoute::Login => match read_credentials(&req) {
                Ok((username, password)) => self
                    .login(ctx, LogIn { username, password, client_addr: req.client_addr.clone() })
                    .map(|session| HttpResponse::json(200, &json::session_json(&session))),
                Err(resp) => return resp,
            },
            WebRoute::Logout => match auth::bearer(&req) {
                Some(token) => self.logout(ctx, Token { token }).map(|_| HttpResponse::no_content()),
                None => Err(unauthenticated("log in first: send Authorization: Bearer <token>")),
            },
            WebRoute::Page(username) => self
                .get(ctx, Username { username, ..Default::default() })
                .map(|p| HttpResponse::json(200, &json::user_page_json(&p))),
        };
        result.unwrap_or_else(|s| web::status_response(&s))
    }
}

/// Where one list of a user page starts: after a given post (keyset), or
/// at a page number by the one page rule.
fn start(page_field: &'static str, page: u32, after_field: &'static str, after: i64) -> Result<Start, Status> {
    Ok(match after {
        0 => Start::Page(fields::check_page(page_field, page.max(1))?),
        after => Start::After(fields::check_id(after_field, after)?),
    })
}

/// `username` and `password` from a form or JSON body, or the 400/415 to send.
fn read_credentials(req: &HttpRequest) -> Result<(String, String), HttpResponse> {
    let body = Body::read(req).map_err(|e| e.response())?;
    let field = |name| body.text(name).map(str::to_string).map_err(|e| web::field_error(&e));
    Ok((field("username")?, field("password")?))
}

/// The typed methods, as the proto declares them (`proto::services::user_service`).
impl user_service::Server for UserService {
    fn create(&self, ctx: &CallContext<'_>, req: SignUp) -> Result<User, Status> {
        let username = fields::check_username(&req.username)?;
        if RESERVED.contains(&username.to_ascii_lowercase().as_str()) {
            return Err(Status::new(Code::AlreadyExists, format!("username {username} is reserved")));
        }
        let password = fields::check_password(&req.password)?;
        let address = throttle::client_address(&req.client_addr);
        if let Some(a) = &address {
            // Cheap first look, so a refused sign-up costs no password hash.
            throttle::check_signup(&mut *self.db.conn_for(ctx)?, a)?;
        }
        let hash = secrets::hash_password(password).map_err(|e| {
            log::error!(target: "User::Worker", "{e}");
            Status::internal("cannot store the password")
        })?;
        let mut conn = self.db.conn_for(ctx)?;
        let mut tx = conn.transaction().map_err(crate::infra::db::DbError::from)?;
        if let Some(a) = &address {
            throttle::lock_signups(&mut tx, a)?;
            throttle::check_signup(&mut tx, a)?;
        }
        let user = store::users::insert(&mut tx, &username, &hash).map_err(|e| {
            if e.is_unique_violation() {
                Status::new(Code::AlreadyExists, format!("username {username} is taken"))
            } else {
                e.to_status()
            }
        })?;
        if let Some(a) = &address {
            store::throttle::set_signup_address(&mut tx, user.id, a)?;
        }
        tx.commit().map_err(crate::infra::db::DbError::from)?;
        log::info!(target: "User::Worker", "signed up user {} ({})", user.id, user.username);
        Ok(user)
    }

    fn login(&self, ctx: &CallContext<'_>, req: LogIn) -> Result<Session, Status> {
        // Malformed input cannot match any account; refuse it like a wrong password.
        let (Ok(username), Ok(password)) =
            (fields::check_username(&req.username), fields::check_password(&req.password))
        else {
            return Err(unauthenticated(WRONG_LOGIN));
        };
        let keys = LoginKeys::new(&username, throttle::client_address(&req.client_addr).as_deref());
        let record = {
            let mut conn = self.db.conn_for(ctx)?;
            throttle::begin_login(&mut conn, &keys)?;
            store::users::login_record(&mut *conn, &username)?
        };
        let user_id = match record {
            Some((id, hash)) if secrets::verify_password(password, &hash) => id,
            Some(_) => return Err(unauthenticated(WRONG_LOGIN)),
            None => {
                secrets::verify_dummy(password);
                return Err(unauthenticated(WRONG_LOGIN));
            }
        };
        let token = secrets::new_token();
        let mut conn = self.db.conn_for(ctx)?;
        throttle::login_succeeded(&mut conn, &keys)?;
        store::users::create_session(&mut *conn, &secrets::token_hash(&token), user_id)?;
        let user = store::users::get(&mut *conn, user_id)?.ok_or_else(|| unauthenticated(WRONG_LOGIN))?;
        log::info!(target: "User::Worker", "user {user_id} logged in");
        Ok(Session { token, user: Some(user) })
    }

    fn logout(&self, ctx: &CallContext<'_>, req: Token) -> Result<Empty, Status> {
        if secrets::is_token_shape(&req.token) {
            let mut conn = self.db.conn_for(ctx)?;
            if let Some(user) = store::users::delete_session(&mut *conn, &secrets::token_hash(&req.token))? {
                log::info!(target: "User::Worker", "session ended");
                // Every instance's cached copy of this user's sessions goes.
                changes::announce(&self.versions, &[coherent::Topic::Sessions(user)])?;
            }
        }
        Ok(Empty {})
    }

    fn authenticate(&self, ctx: &CallContext<'_>, req: Token) -> Result<User, Status> {
        if !secrets::is_token_shape(&req.token) {
            return Err(unauthenticated(auth::STALE));
        }
        let hash = secrets::token_hash(&req.token);
        self.db.read(ctx, |c| store::users::session_user(&mut **c, &hash))?.ok_or_else(|| unauthenticated(auth::STALE))
    }

    fn get(&self, ctx: &CallContext<'_>, req: Username) -> Result<UserPage, Status> {
        let missing = || Status::not_found(format!("user {} does not exist", req.username.trim()));
        let username = fields::check_username(&req.username).map_err(|_| missing())?;
        let questions_start = start("questions_page", req.questions_page, "questions_after", req.questions_after)?;
        let answers_start = start("answers_page", req.answers_page, "answers_after", req.answers_after)?;
        let page = self.db.read(ctx, |c| {
            let Some(user) = store::users::by_name(&mut **c, &username)? else { return Ok(None) };
            let (questions, more_questions) =
                store::questions::by_author(&mut **c, user.id, questions_start, PAGE_POSTS)?;
            let (answers, more_answers) = store::answers::by_author(&mut **c, user.id, answers_start, PAGE_POSTS)?;
            Ok(Some(UserPage { user: Some(user), questions, answers, more_questions, more_answers }))
        })?;
        page.ok_or_else(missing)
    }
}

web::rpc_faces!(UserService, user_service);

/// The user routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebRoute {
    SignUp,
    Login,
    Logout,
    Page(String),
}

pub fn route(req: &HttpRequest) -> Result<WebRoute, HttpResponse> {
    let rest = web::below(&req.path, PREFIX).ok_or_else(|| web::not_found(req))?;
    match rest[..] {
        [] => web::allow(req, &["POST"]).map(|_| WebRoute::SignUp),
        ["login"] => web::allow(req, &["POST"]).map(|_| WebRoute::Login),
        ["logout"] => web::allow(req, &["POST"]).map(|_| WebRoute::Logout),
        [name] if fields::check_username(name).is_ok() && name.trim() == name => {
            web::allow(req, &["GET"]).map(|_| WebRoute::Page(name.to_string()))
        }
        _ => Err(web::not_found(req)),
    }
}

#[cfg(test)]
#[path = "../tests/unit/user.rs"]
mod tests;
