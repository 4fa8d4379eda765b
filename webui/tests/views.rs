//! The view counter: one count per viewer per question per window, bounded
//! memory under a flood, batches that add up, and nothing lost when a flush
//! fails.

use proto::pb::*;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use webui::backend::{Backend, BackendError, Call, Res};
use webui::views::{viewer_key, Recorded, Views};

/// A backend whose only working call is `add_views` (and that one fails
/// while `down`); it keeps every batch it was sent.
#[derive(Default)]
struct Sink {
    down: Mutex<bool>,
    batches: Mutex<Vec<ViewCounts>>,
}

fn no<T>() -> Res<T> {
    Err(BackendError::Unavailable { service: "test", detail: "not in this test".into() })
}

impl Backend for Sink {
    fn list_questions(&self, _: &Call, _: &ListQuestions) -> Res<QuestionPage> {
        no()
    }
    fn search(&self, _: &Call, _: &SearchQuery) -> Res<QuestionPage> {
        no()
    }
    fn tags(&self, _: &Call) -> Res<TagList> {
        no()
    }
    fn thread(&self, _: &Call, _: &ThreadQuery) -> Res<Thread> {
        no()
    }
    fn get_question(&self, _: &Call, _: i64) -> Res<Question> {
        no()
    }
    fn create_question(&self, _: &Call, _: &CreateQuestion) -> Res<Question> {
        no()
    }
    fn edit_question(&self, _: &Call, _: &EditPost) -> Res<Question> {
        no()
    }
    fn question_revisions(&self, _: &Call, _: i64) -> Res<RevisionList> {
        no()
    }
    fn create_answer(&self, _: &Call, _: &CreateAnswer) -> Res<Answer> {
        no()
    }
    fn get_answer(&self, _: &Call, _: i64) -> Res<Answer> {
        no()
    }
    fn accept_answer(&self, _: &Call, _: &AcceptAnswer) -> Res<Answer> {
        no()
    }
    fn edit_answer(&self, _: &Call, _: &EditPost) -> Res<Answer> {
        no()
    }
    fn answer_revisions(&self, _: &Call, _: i64) -> Res<RevisionList> {
        no()
    }
    fn create_comment(&self, _: &Call, _: &CreateComment) -> Res<Comment> {
        no()
    }
    fn vote(&self, _: &Call, _: &CastVote) -> Res<VoteResult> {
        no()
    }
    fn sign_up(&self, _: &Call, _: &SignUp) -> Res<User> {
        no()
    }
    fn log_in(&self, _: &Call, _: &LogIn) -> Res<Session> {
        no()
    }
    fn log_out(&self, _: &Call, _: &str) -> Res<()> {
        no()
    }
    fn authenticate(&self, _: &Call, _: &str) -> Res<User> {
        no()
    }
    fn user_page(&self, _: &Call, _: &Username) -> Res<UserPage> {
        no()
    }
    fn add_views(&self, _: &Call, req: &ViewCounts) -> Res<()> {
        if *self.down.lock().unwrap() {
            return no();
        }
        self.batches.lock().unwrap().push(req.clone());
        Ok(())
    }
}

#[test]
fn a_viewer_counts_once_per_question_per_window() {
    let views = Views::new(Duration::from_secs(600), 1000, 1000);
    let t0 = Instant::now();
    assert_eq!(views.record(7, "a:10.0.0.1", t0), Recorded::Counted);
    assert_eq!(views.record(7, "a:10.0.0.1", t0 + Duration::from_secs(60)), Recorded::Repeat);
    assert_eq!(views.record(7, "a:10.0.0.2", t0), Recorded::Counted);
    assert_eq!(views.record(8, "a:10.0.0.1", t0), Recorded::Counted);
    // Within the window across one rotation (half a window) it is still a repeat …
    assert_eq!(views.record(7, "a:10.0.0.1", t0 + Duration::from_secs(301)), Recorded::Repeat);
    // … and after two rotations it counts again.
    assert_eq!(views.record(9, "a:x", t0 + Duration::from_secs(602)), Recorded::Counted);
    assert_eq!(views.record(7, "a:10.0.0.2", t0 + Duration::from_secs(903)), Recorded::Counted);
    let batch = views.take();
    assert_eq!(batch.ids, vec![7, 8, 9]);
    assert_eq!(batch.counts, vec![3, 1, 1]);
    assert!(views.take().ids.is_empty(), "taken once");
}

#[test]
fn memory_stays_bounded_under_a_flood_of_viewers_and_questions() {
    let views = Views::new(Duration::from_secs(600), 500, 100);
    let now = Instant::now();
    for i in 0..20_000i64 {
        views.record(1 + i % 300, &format!("a:{i}"), now);
    }
    let t = views.totals();
    assert!(t.remembered <= 1000, "two generations of at most 500: {}", t.remembered);
    assert!(t.pending <= 100, "{}", t.pending);
    assert!(t.dropped > 0, "views of questions past the pending bound are dropped");
    assert_eq!(t.counted + t.dropped + t.repeats, 20_000);
}

#[test]
fn flushes_send_batches_and_keep_them_when_the_service_is_down() {
    let views = Views::default();
    let sink = Sink::default();
    let now = Instant::now();
    for v in ["a:1", "a:2", "a:3"] {
        views.record(42, v, now);
    }
    *sink.down.lock().unwrap() = true;
    assert_eq!(views.flush(&sink), 0);
    assert_eq!(views.totals().pending, 1, "kept for the next flush");
    views.record(42, "a:4", now);
    views.record(5, "a:4", now);
    *sink.down.lock().unwrap() = false;
    assert_eq!(views.flush(&sink), 2);
    let batches = sink.batches.lock().unwrap().clone();
    assert_eq!(batches, vec![ViewCounts { ids: vec![5, 42], counts: vec![1, 4] }]);
    assert_eq!(views.totals().flushed, 5);
    assert_eq!(views.flush(&sink), 0, "nothing new, no call");
    assert_eq!(sink.batches.lock().unwrap().len(), 1);
}

#[test]
fn the_viewer_is_the_session_or_else_the_address_without_port() {
    let req = |addr: &str, cookie: Option<&str>| HttpRequest {
        client_addr: addr.into(),
        headers: cookie.map(|c| Header { name: "Cookie".into(), value: c.as_bytes().to_vec() }).into_iter().collect(),
        ..Default::default()
    };
    assert_eq!(viewer_key(&req("127.0.0.1:5555", None)), "a:127.0.0.1");
    assert_eq!(viewer_key(&req("127.0.0.1:6666", None)), "a:127.0.0.1", "another connection, the same viewer");
    assert_eq!(viewer_key(&req("[::1]:5555", None)), "a:[::1]");
    assert_eq!(viewer_key(&req("127.0.0.1:5555", Some("sw_session=tok123"))), "s:tok123");
}
