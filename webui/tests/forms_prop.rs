//! Issue 10, acceptance 2: random bytes as the path, query string, cookies and
//! form body of a page request, through the webui's whole request handling
//! (routing, the query check, the form decoder, the CSRF check, the pages),
//! against a backend that knows every user and nothing else: never a panic,
//! never a 5xx.

use proptest::prelude::*;
use proto::pb::*;
use webui::backend::{Backend, BackendError, Call, Res};

struct Nothing;

fn none<T>() -> Res<T> {
    Err(BackendError::NotFound("nothing here".into()))
}

impl Backend for Nothing {
    fn list_questions(&self, _: &Call, _: &ListQuestions) -> Res<QuestionPage> {
        Ok(QuestionPage::default())
    }
    fn search(&self, _: &Call, _: &SearchQuery) -> Res<QuestionPage> {
        Ok(QuestionPage::default())
    }
    fn tags(&self, _: &Call) -> Res<TagList> {
        Ok(TagList::default())
    }
    fn thread(&self, _: &Call, _: &ThreadQuery) -> Res<Thread> {
        none()
    }
    fn get_question(&self, _: &Call, _: i64) -> Res<Question> {
        none()
    }
    fn create_question(&self, _: &Call, _: &CreateQuestion) -> Res<Question> {
        Ok(Question { id: 1, ..Default::default() })
    }
    fn edit_question(&self, _: &Call, _: &EditPost) -> Res<Question> {
        none()
    }
    fn question_revisions(&self, _: &Call, _: i64) -> Res<RevisionList> {
        none()
    }
    fn create_answer(&self, _: &Call, _: &CreateAnswer) -> Res<Answer> {
        none()
    }
    fn get_answer(&self, _: &Call, _: i64) -> Res<Answer> {
        none()
    }
    fn accept_answer(&self, _: &Call, _: &AcceptAnswer) -> Res<Answer> {
        none()
    }
    fn edit_answer(&self, _: &Call, _: &EditPost) -> Res<Answer> {
        none()
    }
    fn answer_revisions(&self, _: &Call, _: i64) -> Res<RevisionList> {
        none()
    }
    fn create_comment(&self, _: &Call, _: &CreateComment) -> Res<Comment> {
        none()
    }
    fn vote(&self, _: &Call, _: &CastVote) -> Res<VoteResult> {
        none()
    }
    fn sign_up(&self, _: &Call, _: &SignUp) -> Res<User> {
        Err(BackendError::Conflict("username is taken".into()))
    }
    fn log_in(&self, _: &Call, _: &LogIn) -> Res<Session> {
        Err(BackendError::Unauthenticated("wrong username or password".into()))
    }
    fn log_out(&self, _: &Call, _: &str) -> Res<()> {
        Ok(())
    }
    fn authenticate(&self, _: &Call, _: &str) -> Res<User> {
        Ok(User { id: 1, username: "ann".into(), ..Default::default() })
    }
    fn user_page(&self, _: &Call, _: &Username) -> Res<UserPage> {
        none()
    }
    fn add_views(&self, _: &Call, _: &ViewCounts) -> Res<()> {
        Ok(())
    }
}

const PATHS: &[&str] = &[
    "/",
    "/ask",
    "/tags",
    "/tags/rust",
    "/search",
    "/signup",
    "/login",
    "/logout",
    "/users/ann",
    "/questions/1",
    "/questions/1/answers",
    "/questions/1/vote",
    "/questions/1/edit",
    "/questions/1/revisions",
    "/answers/1/comments",
    "/answers/1/vote",
    "/answers/1/accept",
    "/answers/1/edit",
    "/answers/1/revisions",
];

fn formish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        2 => Just(b'%'),
        2 => Just(b'&'),
        2 => Just(b'='),
        2 => prop::sample::select(b"0123456789abcdefABCDEF".to_vec()),
    ];
    prop::collection::vec(byte, 0..200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_in_any_form_or_query_are_never_a_5xx(
        path in prop::sample::select(PATHS),
        post in any::<bool>(),
        query in formish(),
        body in formish(),
        cookies in formish(),
        fields in prop::collection::vec((prop::sample::select(&["title", "body", "tags", "username", "password", "next", "back", "direction", "idem", "q"][..]), formish()), 0..4),
    ) {
        let mut form: Vec<u8> = body;
        for (k, v) in fields {
            form.push(b'&');
            form.extend_from_slice(k.as_bytes());
            form.push(b'=');
            form.extend_from_slice(&v);
        }
        let mut cookie = b"sw_session=0123456789abcdef0123456789abcdef; ".to_vec();
        cookie.extend_from_slice(&cookies);
        let req = HttpRequest {
            method: if post { "POST" } else { "GET" }.into(),
            path: path.into(),
            query: String::from_utf8_lossy(&query).into_owned(),
            headers: vec![
                Header { name: "Cookie".into(), value: cookie },
                Header { name: "Content-Type".into(), value: b"application/x-www-form-urlencoded".to_vec() },
            ],
            body: form,
            client_addr: "127.0.0.1:5555".into(),
            ..Default::default()
        };
        let call = Call { request_id: "r".into(), deadline: None, token: None };
        let key = webui::csrf::Key::from_hex(&"cd".repeat(16)).expect("test secret");
        let resp = webui::routes::handle(&Nothing, &key, &call, &req);
        prop_assert!(resp.status < 500, "{} {}: {}", req.method, req.path, resp.status);
    }
}
