//! The pages anyone can read: lists, tags, search, a question, a user,
//! revision histories. Each reads its query parameters strictly (a page
//! number that is not one is a 400, not page 1) and makes the one or two
//! backend calls the page needs.

use crate::backend::PER_PAGE;
use crate::pages;
use crate::pages::forms::PostKind;
use crate::pages::list::{parse_sort, Sort};
use crate::routes::{Ctx, NO_ANSWER, NO_QUESTION};
use proto::pb::{HttpResponse, ListQuestions, SearchQuery, ThreadQuery, Username};

/// The longest search query we pass on.
pub const QUERY_MAX: usize = 200;

/// The page number from `?name=N`, by the rule every list follows, HTML or
/// JSON (`proto::http::page_param`: absent is the first page).
fn page_number(ctx: &Ctx<'_>, name: &'static str) -> Result<u32, proto::http::FormError> {
    ctx.req.page(name)
}

fn bad(ctx: &Ctx<'_>, message: &str) -> HttpResponse {
    ctx.page(400, pages::bad_request(&ctx.viewer, message))
}

/// `?after=ID` (or another name) of a "Next" link: the id of the last post
/// of the page before (0 when absent); anything but a positive integer is a 400.
fn after_param(ctx: &Ctx<'_>, name: &str) -> Result<i64, HttpResponse> {
    match ctx.query(name).as_deref() {
        None | Some("") => Ok(0),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| bad(ctx, &format!("{name} must be a post id (a whole number from 1 up)"))),
    }
}

fn after(ctx: &Ctx<'_>) -> Result<i64, HttpResponse> {
    after_param(ctx, "after")
}

/// Page number and keyset start of one list of a user page: `{list}_page`
/// (the one page rule) and `{list}_after`; the page is 0 for a page
/// reached by keyset alone.
fn user_list(ctx: &Ctx<'_>, page_name: &'static str, after_name: &str) -> Result<(u32, i64), HttpResponse> {
    let page = page_number(ctx, page_name).map_err(|e| bad(ctx, &e.to_string()))?;
    let after = after_param(ctx, after_name)?;
    let page = if ctx.query(page_name).is_none() && after > 0 { 0 } else { page };
    Ok((page, after))
}

/// Page number and sort order of a question list, or the 400 page. The
/// page number is 0 for a page reached by `after=` past the numbered ones
/// (its "Next" links carry no page number then).
fn list_params(ctx: &Ctx<'_>) -> Result<(u32, Sort), HttpResponse> {
    let page = page_number(ctx, "page").map_err(|e| bad(ctx, &e.to_string()))?;
    let page = if ctx.query("page").is_none() && ctx.query("after").is_some() { 0 } else { page };
    let sort = parse_sort(ctx.query("sort").as_deref()).map_err(|e| bad(ctx, &e.to_string()))?;
    Ok((page, sort))
}

/// One page of a list: by page number (the one rule, 1 to 50), or after a
/// given question, as the pager's "Next" links go.
fn list(ctx: &Ctx<'_>, tag: &str, page: u32, sort: Sort) -> Result<proto::pb::QuestionPage, HttpResponse> {
    let after = after(ctx)?;
    let req = ListQuestions { page, per_page: PER_PAGE, sort: sort.as_str().to_string(), tag: tag.to_string(), after };
    ctx.backend.list_questions(ctx.call, &req).map_err(|e| ctx.failure(e, "There is no such page."))
}

/// `GET /?sort=…&page=N[&after=ID]`
pub fn home(ctx: &mut Ctx<'_>) -> HttpResponse {
    let result = list_params(ctx).and_then(|(page, sort)| Ok((list(ctx, "", page, sort)?, page, sort)));
    match result {
        Ok((qp, page, sort)) => ctx.page(200, pages::list::index(&ctx.viewer, &qp, sort, page)),
        Err(resp) => resp,
    }
}

/// `GET /tags/{tag}?sort=…&page=N[&after=ID]`
pub fn tag(ctx: &mut Ctx<'_>, tag: &str) -> HttpResponse {
    let result = list_params(ctx).and_then(|(page, sort)| Ok((list(ctx, tag, page, sort)?, page, sort)));
    match result {
        Ok((qp, page, sort)) => ctx.page(200, pages::list::tag_page(&ctx.viewer, tag, &qp, sort, page)),
        Err(resp) => resp,
    }
}

/// `GET /tags?page=N`
pub fn tags(ctx: &mut Ctx<'_>) -> HttpResponse {
    let page = match page_number(ctx, "page") {
        Ok(p) => p,
        Err(e) => return bad(ctx, &e.to_string()),
    };
    match ctx.backend.tags(ctx.call) {
        Ok(list) => ctx.page(200, pages::list::tags(&ctx.viewer, &list, page)),
        Err(e) => ctx.failure(e, "There are no tags."),
    }
}

/// `GET /search?q=…&page=N`: the form alone when there is no query; `[tag]`
/// terms go to the question service inside `q`, which filters by them.
pub fn search(ctx: &mut Ctx<'_>) -> HttpResponse {
    let page = match page_number(ctx, "page") {
        Ok(p) => p,
        Err(e) => return bad(ctx, &e.to_string()),
    };
    let q = ctx.query("q").unwrap_or_default();
    let q = q.trim();
    if q.is_empty() {
        return ctx.page(200, pages::list::search(&ctx.viewer, "", None, 1));
    }
    if q.chars().count() > QUERY_MAX {
        return bad(ctx, &format!("q must be at most {QUERY_MAX} characters"));
    }
    let req = SearchQuery { q: q.to_string(), page, per_page: PER_PAGE };
    match ctx.backend.search(ctx.call, &req) {
        Ok(results) => ctx.page(200, pages::list::search(&ctx.viewer, q, Some(&results), page)),
        Err(e) => ctx.failure(e, "There is no such page."),
    }
}

/// `GET /users/{username}?questions_page=N&answers_page=N` (or
/// `questions_after=ID`, `answers_after=ID` past the numbered pages)
pub fn user(ctx: &mut Ctx<'_>, username: &str) -> HttpResponse {
    let lists = user_list(ctx, "questions_page", "questions_after")
        .and_then(|q| Ok((q, user_list(ctx, "answers_page", "answers_after")?)));
    let ((questions_page, questions_after), (answers_page, answers_after)) = match lists {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let req = Username { username: username.to_string(), questions_page, questions_after, answers_page, answers_after };
    match ctx.backend.user_page(ctx.call, &req) {
        Ok(page) if page.user.is_some() => {
            ctx.page(200, pages::list::user(&ctx.viewer, &page, questions_page, answers_page))
        }
        Ok(_) => ctx.page(404, pages::not_found(&ctx.viewer, "There is no such user.")),
        Err(e) => ctx.failure(e, "There is no such user."),
    }
}

/// `GET /questions/{id}?answers_page=N`
pub fn question(ctx: &mut Ctx<'_>, id: i64) -> HttpResponse {
    let answer_page = match page_number(ctx, "answers_page") {
        Ok(p) => p,
        Err(e) => return bad(ctx, &e.to_string()),
    };
    let req = ThreadQuery { id, answer_page, viewer_id: ctx.viewer.id() };
    match ctx.backend.thread(ctx.call, &req) {
        Ok(mut thread) => {
            // An older service leaves the page number out; we know which we asked for.
            thread.answer_page = thread.answer_page.max(answer_page);
            ctx.page(200, pages::thread::thread(&ctx.viewer, &thread, None))
        }
        Err(e) => ctx.failure(e, NO_QUESTION),
    }
}

/// `GET /questions/{id}/revisions`, `GET /answers/{id}/revisions`
pub fn revisions(ctx: &mut Ctx<'_>, kind: PostKind, id: i64) -> HttpResponse {
    let (list, post_url) = match kind {
        PostKind::Question => (ctx.backend.question_revisions(ctx.call, id), format!("/questions/{id}")),
        PostKind::Answer => {
            let question_id = match ctx.backend.get_answer(ctx.call, id) {
                Ok(a) => a.question_id,
                Err(e) => return ctx.failure(e, NO_ANSWER),
            };
            (ctx.backend.answer_revisions(ctx.call, id), format!("/questions/{question_id}#answer-{id}"))
        }
    };
    let missing = if kind == PostKind::Question { NO_QUESTION } else { NO_ANSWER };
    match list {
        Ok(list) => ctx.page(200, pages::forms::revisions(&ctx.viewer, kind, &post_url, &list)),
        Err(e) => ctx.failure(e, missing),
    }
}
