//! Sign up, log in, log out: the pages that make and end the session cookie.
//!
//! Logging in turns a name and password into the user service's session
//! token, which goes into the `sw_session` cookie (HttpOnly, SameSite=Lax)
//! and nowhere else; signing up creates the account and logs in at once.
//! Both forms carry the CSRF token like any other (a forged login would log
//! the victim into the attacker's account). Afterwards the visitor goes back
//! to `next` when it is a path on this site. A wrong name or password gets
//! the same message either way, so the form does not tell which names exist.

use crate::auth;
use crate::backend::BackendError;
use crate::forms::{self, Field, Invalid};
use crate::pages;
use crate::pages::forms::Account;
use crate::routes::{redirect, Ctx};
use proto::pb::{HttpResponse, LogIn, SignUp};

/// `next` from the query (GET) or the form (POST), if it is a local path.
fn next(ctx: &Ctx<'_>) -> String {
    let raw = if ctx.form.is_empty() { ctx.query("next").unwrap_or_default() } else { ctx.field("next") };
    auth::safe_next(&raw).unwrap_or("").to_string()
}

fn after_login(next: &str) -> &str {
    if next.is_empty() {
        "/"
    } else {
        next
    }
}

fn form(ctx: &Ctx<'_>, which: Account) -> HttpResponse {
    let next = next(ctx);
    if ctx.viewer.user.is_some() {
        return redirect(after_login(&next));
    }
    ctx.page(200, pages::forms::account(&ctx.viewer, which, "", &next, None))
}

/// `GET /login?next=…`
pub fn login_form(ctx: &mut Ctx<'_>) -> HttpResponse {
    form(ctx, Account::Login)
}

/// `GET /signup?next=…`
pub fn signup_form(ctx: &mut Ctx<'_>) -> HttpResponse {
    form(ctx, Account::Signup)
}

/// The form again with `error`.
fn again(ctx: &Ctx<'_>, which: Account, status: u16, username: &str, error: Invalid) -> HttpResponse {
    ctx.page(status, pages::forms::account(&ctx.viewer, which, username, &next(ctx), Some(&error)))
}

/// Logs in and sends the visitor on, with the session cookie.
fn start_session(ctx: &Ctx<'_>, which: Account, username: &str, password: &str) -> HttpResponse {
    let req = LogIn {
        username: username.to_string(),
        password: password.to_string(),
        client_addr: ctx.req.client_addr.clone(),
    };
    match ctx.backend.log_in(ctx.call, &req) {
        Ok(session) if !session.token.is_empty() && !session.token.contains([';', '\r', '\n', ' ']) => {
            // A new session, and a new pre-session id: no token from before is good now.
            redirect(after_login(&next(ctx)))
                .header("Set-Cookie", &auth::set_session(&session.token))
                .header("Set-Cookie", &crate::csrf::rotate_cookie())
        }
        Ok(_) => {
            log::error!(target: "WebUI::Worker", "the user service sent an unusable session token");
            ctx.failure(BackendError::Unavailable { service: "user", detail: "bad token".into() }, "")
        }
        Err(BackendError::Unauthenticated(_)) | Err(BackendError::NotFound(_)) => {
            let error = Invalid { field: Some(Field::Password), message: "wrong username or password".into() };
            again(ctx, which, 401, username, error)
        }
        Err(BackendError::Invalid(m)) => again(ctx, which, 400, username, Invalid::from_service(&m)),
        Err(BackendError::RateLimited(m)) => {
            let wait = crate::routes::retry_after(&m).to_string();
            again(ctx, which, 429, username, Invalid { field: None, message: m }).header("Retry-After", &wait)
        }
        Err(e) => ctx.failure(e, ""),
    }
}

/// `POST /login` (username, password, next) → 303 to `next` with the cookie.
pub fn login(ctx: &mut Ctx<'_>) -> HttpResponse {
    let (username, password) = (ctx.field("username"), ctx.field("password"));
    let username = username.trim();
    if username.is_empty() || password.is_empty() {
        let error = Invalid { field: None, message: "username and password are required".into() };
        return again(ctx, Account::Login, 400, username, error);
    }
    start_session(ctx, Account::Login, username, &password)
}

/// `POST /signup` (username, password, next) → the account, logged in, 303 on.
pub fn signup(ctx: &mut Ctx<'_>) -> HttpResponse {
    let (username, password) = (ctx.field("username"), ctx.field("password"));
    let username = username.trim();
    if let Err(e) = forms::check_username(username).and_then(|()| forms::check_password(&password)) {
        return again(ctx, Account::Signup, 400, username, e);
    }
    let req =
        SignUp { username: username.to_string(), password: password.clone(), client_addr: ctx.req.client_addr.clone() };
    match ctx.backend.sign_up(ctx.call, &req) {
        Ok(_) => start_session(ctx, Account::Signup, username, &password),
        Err(BackendError::Conflict(m)) => {
            again(ctx, Account::Signup, 409, username, Invalid { field: Some(Field::Username), message: m })
        }
        Err(BackendError::Invalid(m)) => again(ctx, Account::Signup, 400, username, Invalid::from_service(&m)),
        Err(BackendError::RateLimited(m)) => {
            let wait = crate::routes::retry_after(&m).to_string();
            again(ctx, Account::Signup, 429, username, Invalid { field: None, message: m }).header("Retry-After", &wait)
        }
        Err(e) => ctx.failure(e, ""),
    }
}

/// `POST /logout` → 303 to the front page, cookie cleared. The session ends
/// on the server too; if the user service cannot be reached, the cookie still
/// goes (the session then simply expires).
pub fn logout(ctx: &mut Ctx<'_>) -> HttpResponse {
    if let Some(token) = &ctx.token {
        match ctx.backend.log_out(ctx.call, token) {
            Ok(()) | Err(BackendError::Unauthenticated(_)) | Err(BackendError::NotFound(_)) => {}
            Err(e) => log::warn!(target: "WebUI::Worker", "logout: session not ended on the server: {e}"),
        }
    }
    redirect("/").header("Set-Cookie", &auth::clear_session()).header("Set-Cookie", &crate::csrf::rotate_cookie())
}
