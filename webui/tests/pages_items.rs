//! What issue 15 adds to the pages, rendered and read: list rows with
//! excerpts, counts, reputation and relative times; search headlines with
//! marked matches; inline Markdown in comments; identicons; relative times
//! that depend only on the render minute.

use proto::pb::{Answer, AnswerWithComments, Comment, Question, QuestionPage, Thread, User, UserPage};
use webui::ago::{self, render_time, MINUTE_MS};
use webui::auth::Viewer;
use webui::pages::{list as pages_list, thread as pages_thread};
use webui::pages::{marked, question_list};
use webui::{identicon, markdown};

const NOW: i64 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS;

fn viewer() -> Viewer {
    Viewer { now_ms: NOW, csrf: "c".repeat(32), here: "/".into(), ..Default::default() }
}

fn question() -> Question {
    Question {
        id: 7,
        title: "Why <WouldBlock>?".into(),
        body: "I call **read** in a [loop](https://x.example/a):\n\n```rust\nloop { sock.read(&mut b)?; }\n```\n\n\
               and it <b>spins</b>. "
            .repeat(8),
        author: "ann".into(),
        author_reputation: 1234,
        score: 5,
        answer_count: 2,
        accepted_answer_id: 9,
        view_count: 321,
        created_at_ms: NOW - 3 * 3_600_000 - 5_000,
        last_activity_ms: NOW - 60_000,
        tags: vec!["rust".into(), "sockets".into()],
        ..Default::default()
    }
}

#[test]
fn relative_times_read_naturally_and_keep_the_exact_time() {
    assert_eq!(ago::relative(NOW - 30_000, NOW), "just now");
    assert_eq!(ago::relative(NOW + 90_000, NOW), "just now", "a clock a little ahead");
    assert_eq!(ago::relative(NOW - 60_000, NOW), "1 min ago");
    assert_eq!(ago::relative(NOW - 59 * 60_000, NOW), "59 mins ago");
    assert_eq!(ago::relative(NOW - 3 * 3_600_000 - 5_000, NOW), "3 hours ago");
    assert_eq!(ago::relative(NOW - 30 * 3_600_000, NOW), "yesterday");
    assert_eq!(ago::relative(NOW - 12 * 86_400_000, NOW), "12 days ago");
    assert_eq!(ago::relative(1_542_848_230_560, NOW), "on 2018-11-22");
    assert_eq!(ago::relative(1_542_848_230_560, 0), "on 2018-11-22", "no render time: the date");
    assert_eq!(
        ago::time(1_542_848_230_560, NOW),
        "<time datetime=\"2018-11-22T00:57:10.560Z\" title=\"2018-11-22 00:57:10 UTC\">on 2018-11-22</time>"
    );
}

#[test]
fn a_page_depends_on_the_render_minute_only() {
    assert_eq!(render_time(NOW + 59_999), NOW);
    assert_eq!(render_time(NOW), NOW);
    let page = QuestionPage { questions: vec![question()], page: 1, has_more: false };
    let at = |ms: i64| {
        let v = Viewer { now_ms: render_time(ms), ..viewer() };
        pages_list::index(&v, &page, pages_list::Sort::Newest, 1)
    };
    assert_eq!(at(NOW + 1), at(NOW + 59_000), "one minute, one page");
    assert_ne!(at(NOW), at(NOW + 3_600_000), "an hour later the times read differently");
}

#[test]
fn list_rows_show_excerpt_counts_author_and_time() {
    let list = question_list(&[question()], "none", NOW);
    assert!(list.contains("<span class=\"n-votes\"><b>5</b> votes</span>"), "{list}");
    assert!(list.contains("class=\"n-answers solved\" title=\"an answer is accepted\""), "{list}");
    assert!(list.contains("<b>2</b> answers"), "{list}");
    assert!(list.contains("<span class=\"n-views\"><b>321</b> views</span>"), "{list}");
    assert!(list.contains("<a class=\"tag\" href=\"/tags/rust\">rust</a>"), "{list}");
    assert!(list.contains("<a href=\"/users/ann\">ann</a><span class=\"rep\" title=\"reputation\">1234</span>"));
    assert!(list.contains("<svg class=\"avatar\""), "identicon: {list}");
    assert!(list.contains("asked <time datetime="), "{list}");
    assert!(list.contains(">3 hours ago</time>"), "{list}");
    let start = list.find("<p class=\"excerpt\">").expect("an excerpt") + "<p class=\"excerpt\">".len();
    let excerpt = &list[start..start + list[start..].find("</p>").unwrap()];
    assert!(
        excerpt.starts_with("I call read in a loop: loop { sock.read(&amp;mut b)?; } and it &lt;b&gt;spins"),
        "{excerpt}"
    );
    assert!(!excerpt.contains("**") && !excerpt.contains("](") && !excerpt.contains("```"), "{excerpt}");
    assert!(excerpt.ends_with('…') && excerpt.chars().count() < 260, "{excerpt}");
}

#[test]
fn excerpts_strip_markdown_and_cut_at_a_word() {
    assert_eq!(markdown::excerpt("# Title\n\nSome *emphasis* and `code`.", 100), "Title Some emphasis and code.");
    assert_eq!(markdown::excerpt("one two three four", 9), "one two…");
    assert_eq!(markdown::excerpt("abcdefghijkl", 5), "abcde…");
    assert_eq!(markdown::excerpt("", 5), "");
    let long = "word ".repeat(10_000);
    assert!(markdown::excerpt(&long, 200).chars().count() <= 201);
}

#[test]
fn headlines_mark_matches_and_escape_everything_else() {
    assert_eq!(marked("a \u{1}socket\u{2} <b>"), "a <mark>socket</mark> &lt;b&gt;");
    assert_eq!(marked("\u{2}x\u{1}y"), "x<mark>y</mark>", "stray and unclosed sentinels still balance");
    assert_eq!(marked("\u{1}\u{1}a\u{2}\u{2}"), "<mark>a</mark>");
    assert_eq!(marked("<mark>x</mark>"), "&lt;mark&gt;x&lt;/mark&gt;", "markup from the service is text");
    let q = Question {
        headline_title: "Why \u{1}WouldBlock\u{2}?".into(),
        headline_body: "… the \u{1}socket\u{2} returns <x> …".into(),
        ..question()
    };
    let list = question_list(&[q], "none", NOW);
    assert!(list.contains("href=\"/questions/7\">Why <mark>WouldBlock</mark>?</a>"), "{list}");
    assert!(list.contains("<p class=\"excerpt\">… the <mark>socket</mark> returns &lt;x&gt; …</p>"), "{list}");
}

#[test]
fn no_results_suggests_removing_a_tag_filter() {
    let doc = pages_list::search(&viewer(), "frame [rpc] [rust]", Some(&QuestionPage::default()), 1);
    assert!(doc.contains("Nothing matches “frame [rpc] [rust]”"), "{doc}");
    assert!(doc.contains("href=\"/search?q=frame%20%5Brust%5D\">search without <span class=\"tag\">[rpc]</span>"));
    assert!(doc.contains("href=\"/search?q=frame%20%5Brpc%5D\">search without <span class=\"tag\">[rust]</span>"));
    let tag_only = pages_list::search(&viewer(), "[rpc]", Some(&QuestionPage::default()), 1);
    assert!(tag_only.contains("href=\"/tags/rpc\">search without"), "{tag_only}");
    let plain = pages_list::search(&viewer(), "zzz", Some(&QuestionPage::default()), 1);
    assert!(plain.contains("Try fewer or other words") && !plain.contains("search without"));
    assert_eq!(plain.matches("type=\"search\"").count(), 1, "one search box");
    assert!(plain.contains("name=\"q\" value=\"zzz\""), "the header box keeps the query");
}

#[test]
fn comments_take_inline_markdown_with_the_body_rules() {
    let r = markdown::render_inline;
    assert_eq!(
        r("use `read_exact` and *not* **read**"),
        "use <code>read_exact</code> and <em>not</em> <strong>read</strong>"
    );
    assert_eq!(
        r("see [docs](https://doc.rust-lang.org/x)"),
        "see <a href=\"https://doc.rust-lang.org/x\" rel=\"nofollow ugc\">docs</a>"
    );
    assert_eq!(r("[x](javascript:alert(1))"), "x", "the same URL rule as posts");
    assert_eq!(r("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_eq!(r("# not a heading"), "# not a heading");
    assert_eq!(r("- not a list\n1. nor this\n> nor a quote"), "- not a list\n1. nor this\n&gt; nor a quote");
    assert_eq!(r("```\nnot a block\n```"), "```\nnot a block\n```");
    assert_eq!(r("line one\nline two"), "line one\nline two");
    assert_eq!(
        r("![img](https://x.example/i.png)"),
        "<a href=\"https://x.example/i.png\" rel=\"nofollow ugc\">image: img</a>"
    );
    assert_eq!(r("[r]: https://x.example"), "[r]: https://x.example", "not a link definition");
}

#[test]
fn identicons_are_stable_per_name_and_differ_between_names() {
    let ann = identicon::svg("ann", 20);
    assert_eq!(ann, identicon::svg("ANN", 20), "names are case-insensitive");
    assert_ne!(ann, identicon::svg("bob", 20));
    assert!(ann.starts_with("<svg class=\"avatar\" width=\"20\" height=\"20\""), "{ann}");
    assert!(!ann.contains("href") && !ann.contains("url("), "nothing loaded: {ann}");
    assert_eq!(identicon::svg("", 20), "", "no author, no picture");
    let distinct: std::collections::HashSet<String> =
        (0..200).map(|i| identicon::svg(&format!("user{i}"), 20)).collect();
    assert!(distinct.len() > 190, "{} distinct of 200", distinct.len());
}

#[test]
fn the_thread_shows_views_authors_and_comment_markdown() {
    let t = Thread {
        question: Some(question()),
        answers: vec![AnswerWithComments {
            answer: Some(Answer {
                id: 9,
                question_id: 7,
                body: "```python\nprint('x')\n```".into(),
                author: "bob".into(),
                author_reputation: 77,
                accepted: true,
                created_at_ms: NOW - 120_000,
                ..Default::default()
            }),
            comments: vec![Comment {
                id: 3,
                answer_id: 9,
                body: "try `poll` <i>".into(),
                author: "ann".into(),
                created_at_ms: NOW - 5_000,
                ..Default::default()
            }],
        }],
        answer_page: 1,
        ..Default::default()
    };
    let doc = pages_thread::thread(&viewer(), &t, None);
    assert!(doc.contains("<span class=\"n-views\">Viewed 321 times</span>"), "{doc}");
    assert!(doc.contains("<span>Asked <time"), "{doc}");
    assert!(doc.contains("<a href=\"/users/bob\">bob</a><span class=\"rep\" title=\"reputation\">77</span>"));
    assert!(doc.contains("<pre class=\"hl\"><code class=\"language-python\"><span class=\"t\">print</span>"), "{doc}");
    assert!(doc.contains("<span class=\"text\">try <code>poll</code> &lt;i&gt;</span>"), "{doc}");
    assert!(doc.contains(">2 mins ago</time>") && doc.contains(">just now</time>"), "{doc}");
}

#[test]
fn user_pages_show_the_identicon_and_relative_times() {
    let page = UserPage {
        user: Some(User {
            id: 1,
            username: "ann".into(),
            reputation: 5,
            created_at_ms: NOW - 86_400_000 * 3,
            ..Default::default()
        }),
        questions: vec![question()],
        answers: vec![],
        ..Default::default()
    };
    let doc = pages_list::user(&viewer(), &page, 1, 1);
    assert!(doc.contains("<div class=\"user-head\"><svg class=\"avatar\" width=\"64\""), "{doc}");
    assert!(doc.contains("member since <time") && doc.contains(">3 days ago</time>"), "{doc}");
    assert!(!doc.contains("nav class=\"pager\""), "one page each: no pager");
    let more = UserPage { more_questions: true, more_answers: true, ..page.clone() };
    let doc = pages_list::user(&viewer(), &more, 1, 1);
    assert!(doc.contains("href=\"/users/ann?questions_page=2&amp;questions_after=7#questions\" rel=\"next\""), "{doc}");
    let last = pages_list::user(&viewer(), &more, 50, 3);
    assert!(
        last.contains("href=\"/users/ann?questions_after=7#questions\" rel=\"next\""),
        "keyset past page 50: {last}"
    );
    assert!(last.contains("href=\"/users/ann?answers_page=2#answers\" rel=\"prev\""), "{last}");
}

#[test]
fn the_tag_list_pages_by_the_page_rule() {
    use proto::pb::{TagCount, TagList};
    let list = TagList { tags: (0..250).map(|i| TagCount { tag: format!("t{i}"), count: 1000 - i }).collect() };
    let first = pages_list::tags(&viewer(), &list, 1);
    assert_eq!(first.matches("<tr>").count(), pages_list::TAGS_PER_PAGE);
    assert!(first.contains("href=\"/tags?page=2\" rel=\"next\""), "{first}");
    let last = pages_list::tags(&viewer(), &list, 3);
    assert_eq!(last.matches("<tr>").count(), 50);
    assert!(last.contains("href=\"/tags?page=2\" rel=\"prev\"") && !last.contains("rel=\"next\""), "{last}");
    let past = pages_list::tags(&viewer(), &list, 9);
    assert!(past.contains("No tags on this page"), "{past}");
}
