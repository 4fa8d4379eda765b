//! The question page rendered from hand-made threads: escaping, Markdown,
//! votes, the accept button, edit links, answer paging and rejected forms.

use proto::pb::{Answer, AnswerWithComments, Comment, PostVote, Question, Thread, User};
use webui::auth::Viewer;
use webui::csrf;
use webui::forms::{Field, Invalid};
use webui::pages::thread::thread;
use webui::pages::{Rejected, Slot};

fn sample() -> Thread {
    Thread {
        question: Some(Question {
            id: 7,
            title: "<script>alert(1)</script>".into(),
            body: "line one\n\n```sh\n  ls  -l\n```\n\n<script>alert(3)</script>\n\n[x](javascript:alert(4))".into(),
            created_at_ms: 1_542_848_230_560,
            author_id: 1,
            author: "asker".into(),
            score: 4,
            tags: vec!["rust".into(), "tcp".into()],
            answer_count: 2,
            ..Default::default()
        }),
        answers: vec![
            AnswerWithComments {
                answer: Some(Answer {
                    id: 11,
                    question_id: 7,
                    body: "<b>bold?</b>".into(),
                    created_at_ms: 1,
                    author_id: 2,
                    author: "helper".into(),
                    score: 1,
                    ..Default::default()
                }),
                comments: vec![Comment {
                    id: 21,
                    answer_id: 11,
                    body: "<img src=x onerror=alert(2)>".into(),
                    created_at_ms: 2,
                    ..Default::default()
                }],
            },
            AnswerWithComments {
                answer: Some(Answer {
                    id: 12,
                    question_id: 7,
                    body: "plain".into(),
                    created_at_ms: 3,
                    author_id: 3,
                    author: "other".into(),
                    accepted: true,
                    ..Default::default()
                }),
                comments: vec![],
            },
        ],
        answer_page: 1,
        my_votes: vec![PostVote { target: "answer".into(), id: 11, value: -1 }],
        ..Default::default()
    }
}

fn viewer(id: i64) -> Viewer {
    let user = (id != 0).then(|| User { id, username: format!("user{id}"), ..Default::default() });
    Viewer { user, csrf: csrf::new_token(), here: "/questions/7".into(), ..Default::default() }
}

#[test]
fn every_piece_of_user_text_is_escaped_or_neutralised() {
    let doc = thread(&viewer(2), &sample(), None);
    assert!(doc.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"));
    assert!(doc.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; · stackwire</title>"));
    assert!(!doc.contains("<script"), "no script tag anywhere");
    assert!(doc.contains("&lt;script&gt;alert(3)&lt;/script&gt;"));
    assert!(!doc.contains("javascript:"), "no javascript: link");
    assert!(doc.contains("&lt;b&gt;bold?&lt;/b&gt;") && !doc.contains("<b>"));
    assert!(doc.contains("&lt;img src=x onerror=alert(2)&gt;") && !doc.contains("<img"));
    assert!(doc.contains("<pre class=\"hl\"><code class=\"language-bash\">  ls  -l\n</code></pre>"));
}

#[test]
fn accepted_answer_comes_first_and_is_marked() {
    let doc = thread(&viewer(0), &sample(), None);
    assert!(doc.contains("<h2 id=\"answers\">2 answers</h2>"));
    let (a12, a11) = (doc.find("id=\"answer-12\"").unwrap(), doc.find("id=\"answer-11\"").unwrap());
    assert!(a12 < a11, "accepted first");
    assert!(doc.contains("<article class=\"answer accepted\" id=\"answer-12\">"));
    assert_eq!(doc.matches("✓ Accepted answer").count(), 1);
    let c21 = doc.find("comment-21").unwrap();
    assert!(a11 < c21, "comments inside their answer");
}

#[test]
fn votes_show_scores_and_the_viewers_own_vote() {
    let doc = thread(&viewer(2), &sample(), None);
    assert!(doc.contains("action=\"/questions/7/vote\""));
    assert!(doc.contains("action=\"/answers/11/vote\""));
    assert!(doc.contains("<span class=\"score\" aria-label=\"score\">4</span>"));
    assert!(doc.contains("name=\"back\" value=\"/questions/7#answer-11\""));
    // Answer 11 is voted down by this viewer: that button is pressed, no other.
    assert_eq!(doc.matches("class=\"on\" aria-label=\"Vote down\" aria-pressed=\"true\"").count(), 1);
    assert_eq!(doc.matches("aria-pressed=\"true\"").count(), 1);
}

#[test]
fn only_the_asker_sees_accept_and_only_authors_see_edit() {
    let asker = thread(&viewer(1), &sample(), None);
    assert!(asker.contains("action=\"/answers/11/accept\""));
    assert!(!asker.contains("action=\"/answers/12/accept\""), "already accepted");
    assert!(asker.contains("href=\"/questions/7/edit\""));
    assert!(!asker.contains("href=\"/answers/11/edit\""));
    let helper = thread(&viewer(2), &sample(), None);
    assert!(!helper.contains("/accept\""));
    assert!(!helper.contains("href=\"/questions/7/edit\""));
    assert!(helper.contains("href=\"/answers/11/edit\""));
    assert!(helper.contains("href=\"/answers/12/revisions\"") && helper.contains("href=\"/questions/7/revisions\""));
}

#[test]
fn every_form_carries_the_csrf_token() {
    let v = viewer(1);
    let doc = thread(&v, &sample(), None);
    let forms = doc.matches("method=\"post\"").count();
    assert!(forms >= 9, "{forms}");
    assert_eq!(doc.matches(&csrf::hidden_field(&v.csrf)).count(), forms);
    assert!(doc.contains("action=\"/questions/7/answers\""));
    assert!(doc.contains("action=\"/answers/11/comments\""));
}

#[test]
fn visitors_get_login_links_instead_of_forms() {
    let doc = thread(&viewer(0), &sample(), None);
    assert!(!doc.contains("action=\"/questions/7/answers\""));
    assert!(!doc.contains("/comments\""));
    assert!(doc.contains("href=\"/login?next=%2Fquestions%2F7%23your-answer\">Log in</a> or"));
    assert!(doc.contains("Log in to comment"));
    assert!(doc.contains("action=\"/questions/7/vote\""), "votes send visitors to log in");
}

#[test]
fn answer_pages_link_each_other() {
    let mut t = sample();
    t.more_answers = true;
    let first = thread(&viewer(0), &t, None);
    assert!(first.contains("href=\"/questions/7?answers_page=2#answers\" rel=\"next\""));
    t.answer_page = 2;
    t.more_answers = false;
    let second = thread(&viewer(2), &t, None);
    assert!(second.contains("href=\"/questions/7#answers\" rel=\"prev\""));
    assert!(second.contains("name=\"back\" value=\"/questions/7?answers_page=2#answer-11\""));
}

#[test]
fn a_rejected_comment_comes_back_under_its_answer_with_its_text() {
    let r = Rejected {
        slot: Slot::Comment(11),
        body: "\n<i>too long</i>".into(),
        error: Invalid { field: Some(Field::Body), message: "body must be 1 to 600 characters".into() },
    };
    let doc = thread(&viewer(2), &sample(), Some(&r));
    let err = doc.find("id=\"comment-error-11\"").expect("error next to answer 11's form");
    assert!(err > doc.find("id=\"answer-11\"").unwrap());
    assert!(doc.contains("body must be 1 to 600 characters"));
    // The leading newline survives the parser's one-newline strip.
    assert!(doc.contains(
        "required aria-invalid=\"true\" aria-describedby=\"comment-error-11\">\n\n&lt;i&gt;too long&lt;/i&gt;</textarea>"
    ));
    assert_eq!(doc.matches("<details open>").count(), 1);
    assert!(!doc.contains("answer-error"));
}

#[test]
fn a_rejected_answer_comes_back_in_the_answer_form() {
    let r = Rejected {
        slot: Slot::Answer,
        body: "   ".into(),
        error: Invalid { field: Some(Field::Body), message: "body must be 1 to 30000 characters".into() },
    };
    let doc = thread(&viewer(2), &sample(), Some(&r));
    assert!(
        doc.contains("<p class=\"error\" role=\"alert\" id=\"answer-error\">body must be 1 to 30000 characters</p>")
    );
    assert!(doc.contains("aria-describedby=\"answer-error\">\n   </textarea>"));
}
