//! Unit tests of `webui::pages::list`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;
use proto::pb::{Answer, Question, TagCount, User};

fn questions(n: i64) -> Vec<Question> {
    (1..=n)
        .rev()
        .map(|id| Question { id, title: format!("Q{id} <&>"), created_at_ms: id, ..Default::default() })
        .collect()
}

#[test]
fn sorts_parse_and_name_themselves() {
    assert_eq!(parse_sort(None), Ok(Sort::Newest));
    assert_eq!(parse_sort(Some("")), Ok(Sort::Newest));
    for s in Sort::ALL {
        assert_eq!(parse_sort(Some(s.as_str())), Ok(s));
    }
    assert_eq!(parse_sort(Some("Votes")), Err(BadSort));
    assert_eq!(parse_sort(Some("oldest")), Err(BadSort));
}

#[test]
fn index_has_tabs_rows_and_page_links() {
    let v = Viewer::default();
    let first = index(&v, &QuestionPage { questions: questions(3), page: 1, has_more: true }, Sort::Votes, 1);
    assert!(first.contains("<h1>Top voted questions</h1>"));
    assert!(first.contains("<a href=\"/?sort=votes\" class=\"on\" aria-current=\"page\">Votes</a>"));
    assert!(first.contains("<a href=\"/\">Newest</a>"));
    assert!(first.contains("<a href=\"/?sort=unanswered\">Unanswered</a>"));
    assert!(first.contains("<a class=\"title\" href=\"/questions/3\">Q3 &lt;&amp;&gt;</a>"));
    assert!(first.find("/questions/3").unwrap() < first.find("/questions/1\"").unwrap());
    assert!(first.contains("href=\"/?sort=votes&amp;page=2&amp;after=1\" rel=\"next\""));
    let empty = index(&v, &QuestionPage::default(), Sort::Newest, 1);
    assert!(empty.contains("No questions yet"));
    let later = index(&v, &QuestionPage::default(), Sort::Newest, 5);
    assert!(later.contains("No questions on this page") && later.contains("href=\"/?page=4\" rel=\"prev\""));
}

#[test]
fn tag_pages_and_the_tag_list_link_each_other() {
    let v = Viewer::default();
    let page = tag_page(&v, "c++", &QuestionPage { questions: questions(1), page: 2, has_more: true }, Sort::Active, 2);
    assert!(page.contains("Questions tagged <span class=\"tag\">c++</span>"));
    assert!(page.contains("href=\"/tags/c%2B%2B?sort=active&amp;page=3&amp;after=1\""));
    assert!(page.contains("href=\"/tags/c%2B%2B?sort=votes\""));
    let list = tags(
        &v,
        &TagList { tags: vec![TagCount { tag: "rust".into(), count: 3 }, TagCount { tag: "<x>".into(), count: 1 }] },
        1,
    );
    assert!(list.contains("<a class=\"tag\" href=\"/tags/rust\">rust</a></td><td class=\"n\">3 questions"));
    assert!(list.contains("&lt;x&gt;</a></td><td class=\"n\">1 question<"));
}

#[test]
fn search_keeps_the_query_in_the_header_box_and_the_page_links() {
    let v = Viewer::default();
    let none = search(&v, "", None, 1);
    assert!(none.contains("name=\"q\" value=\"\""));
    let q = "socket \"half\" [rust]";
    let found = search(&v, q, Some(&QuestionPage { questions: questions(2), page: 1, has_more: true }), 1);
    assert_eq!(found.matches("name=\"q\"").count(), 1, "one search box");
    assert!(found.contains("value=\"socket &quot;half&quot; [rust]\""));
    assert!(found.contains("href=\"/search?q=socket%20%22half%22%20%5Brust%5D&amp;page=2\""));
    assert!(found.contains("/questions/2"));
    let nothing = search(&v, "zzz", Some(&QuestionPage::default()), 1);
    assert!(nothing.contains("Nothing matches"));
}

#[test]
fn user_page_shows_reputation_and_posts() {
    let page = UserPage {
        user: Some(User {
            id: 1,
            username: "ann".into(),
            reputation: 27,
            question_count: 1,
            answer_count: 1,
            ..Default::default()
        }),
        questions: questions(1),
        answers: vec![Answer {
            id: 5,
            question_id: 1,
            body: "Use **this**\nplease".into(),
            score: 2,
            accepted: true,
            ..Default::default()
        }],
        ..Default::default()
    };
    let doc = user(&Viewer::default(), &page, 1, 1);
    assert!(doc.contains("<h1>ann</h1>") && doc.contains("<svg class=\"avatar\""));
    assert!(doc.contains("<span class=\"big\">27</span> reputation"));
    assert!(doc.contains("<b>1</b> question<") && doc.contains("<b>1</b> answer<"));
    assert!(doc.contains("href=\"/questions/1#answer-5\">(untitled)</a>"));
    assert!(doc.contains("<p class=\"excerpt\">Use this please</p>"));
    assert!(doc.contains("<span aria-hidden=\"true\">✓ </span>accepted"));
    assert!(user(&Viewer::default(), &UserPage::default(), 1, 1).contains("no such user"));
}
