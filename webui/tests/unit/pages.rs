//! Unit tests of `webui::pages`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

fn pages(p: u32, more: bool) -> String {
    pager(p, more, u32::MAX, |n| format!("/?sort=votes&page={n}"), None)
}

#[test]
fn pager_links_neighbours_and_the_first_page() {
    assert_eq!(pages(1, false), "");
    let first = pages(1, true);
    assert!(first.contains("<span class=\"on\" aria-current=\"page\">1</span>"));
    assert!(first.contains("href=\"/?sort=votes&amp;page=2\" rel=\"next\""));
    assert!(!first.contains("Prev"));
    let fifth = pages(5, false);
    for n in [1, 3, 4] {
        assert!(fifth.contains(&format!("page={n}\">{n}</a>")), "{fifth}");
    }
    assert!(!fifth.contains("page=2\">2<") && fifth.contains("…"));
    assert!(fifth.contains("page=4\" rel=\"prev\""));
    assert!(!fifth.contains("Next"));
}

#[test]
fn rows_show_score_answers_tags_and_author() {
    let q = Question {
        id: 9,
        title: "<t>".into(),
        author: "ann".into(),
        score: 3,
        answer_count: 2,
        accepted_answer_id: 4,
        tags: vec!["c#".into()],
        ..Default::default()
    };
    let list = question_list(&[q], "none", 0);
    assert!(list.contains("<b>3</b> votes"));
    assert!(list.contains("class=\"n-answers solved\""));
    assert!(list.contains("<a class=\"title\" href=\"/questions/9\">&lt;t&gt;</a>"));
    assert!(list.contains("<a class=\"tag\" href=\"/tags/c%23\">c#</a>"));
    assert!(list.contains("<a href=\"/users/ann\">ann</a>"));
    let anon = question_list(&[Question { id: 1, answer_count: 1, ..Default::default() }], "none", 0);
    assert!(anon.contains("anonymous") && anon.contains("class=\"n-answers answered\"><b>1</b> answer<"));
    assert_eq!(question_list(&[], "No <b>x</b>", 0), "<p class=\"empty\">No <b>x</b></p>\n");
}

#[test]
fn forms_carry_the_csrf_token_and_creates_a_key() {
    let v = Viewer { csrf: csrf::new_token(), ..Default::default() };
    let f = form_open(&v, "/ask", "", true);
    assert!(f.contains(&csrf::hidden_field(&v.csrf)));
    assert!(f.contains("name=\"idem\""));
    assert!(!form_open(&v, "/logout", "inline", false).contains("idem"));
}

#[test]
fn error_pages_escape_their_messages() {
    let v = Viewer::default();
    assert!(not_found(&v, "<x>").contains("&lt;x&gt;"));
    assert!(unavailable(&v, "question service").contains("The question service is not available"));
    assert!(method_not_allowed(&v, "PUT", "GET, HEAD").contains("PUT"));
    assert!(rate_limited(&v, "try again in 5 seconds").contains("try again in 5 seconds"));
    assert!(csrf_rejected(&v, &csrf::CsrfError::Mismatch).contains("does not match"));
}
