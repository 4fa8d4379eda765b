//! An in-memory stand-in for all five services, for the routing tests: just
//! enough behaviour (sessions, authors, votes, accept, edits, limits) for
//! every status and redirect of the site to be checked without a network.

use proto::pb::{
    AcceptAnswer, Answer, AnswerWithComments, CastVote, Comment, CreateAnswer, CreateComment, CreateQuestion, EditPost,
    ListQuestions, LogIn, PostVote, Question, QuestionPage, Revision, RevisionList, SearchQuery, Session, SignUp,
    TagCount, TagList, Thread, ThreadQuery, User, UserPage, Username, ViewCounts, VoteResult,
};
use std::sync::{Mutex, MutexGuard};
use webui::backend::{Backend, BackendError, Call, Res, PER_PAGE};

#[derive(Default)]
pub struct State {
    pub users: Vec<(User, String)>,
    pub sessions: Vec<(String, i64)>,
    pub questions: Vec<Question>,
    pub answers: Vec<Answer>,
    pub comments: Vec<Comment>,
    /// (user, target, post, ±1)
    pub votes: Vec<(i64, String, i64, i32)>,
    pub revisions: Vec<(&'static str, i64, Revision)>,
    pub next_id: i64,
    /// Every call by method name, in order.
    pub calls: Vec<&'static str>,
    /// The typed requests that carried a user id: (method, id).
    pub ids_seen: Vec<(&'static str, i64)>,
    pub list_requests: Vec<ListQuestions>,
    pub search_requests: Vec<SearchQuery>,
    pub thread_requests: Vec<ThreadQuery>,
    pub idempotency_keys: Vec<String>,
}

#[derive(Default)]
pub struct Fake {
    /// Every call fails as if no instance were registered.
    pub down: bool,
    /// Only the user service is down.
    pub users_down: bool,
    /// Creations fail with this INVALID_ARGUMENT message.
    pub reject: Option<String>,
    /// Creations fail with this RESOURCE_EXHAUSTED message.
    pub limit: Option<String>,
    /// Only ANSWER_GET fails as unavailable.
    pub answer_get_down: bool,
    pub state: Mutex<State>,
}

fn not_found(what: &str, id: impl std::fmt::Display) -> BackendError {
    BackendError::NotFound(format!("{what} {id}"))
}

impl Fake {
    pub fn s(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn enter(&self, method: &'static str, service: &'static str) -> Res<MutexGuard<'_, State>> {
        let mut s = self.s();
        s.calls.push(method);
        if self.down || (self.users_down && service == "user") {
            return Err(BackendError::Unavailable { service, detail: "no live instance".into() });
        }
        Ok(s)
    }

    fn create(&self, method: &'static str, service: &'static str, user: i64) -> Res<MutexGuard<'_, State>> {
        let mut s = self.enter(method, service)?;
        s.ids_seen.push((method, user));
        if let Some(m) = &self.reject {
            return Err(BackendError::Invalid(m.clone()));
        }
        if let Some(m) = &self.limit {
            return Err(BackendError::RateLimited(m.clone()));
        }
        s.next_id += 1;
        Ok(s)
    }

    /// A user with a session; returns (user id, token).
    pub fn user(&self, name: &str) -> (i64, String) {
        let mut s = self.s();
        s.next_id += 1;
        let id = s.next_id;
        s.users.push((User { id, username: name.into(), ..Default::default() }, format!("password-{name}")));
        let token = format!("token-{name}-{id}");
        s.sessions.push((token.clone(), id));
        (id, token)
    }

    /// A question by `author` (0: none) with `tags`; returns its id.
    pub fn question(&self, author: i64, title: &str, tags: &[&str]) -> i64 {
        let mut s = self.s();
        s.next_id += 1;
        let id = s.next_id;
        let name = s.users.iter().find(|(u, _)| u.id == author).map(|(u, _)| u.username.clone()).unwrap_or_default();
        let tags = tags.iter().map(|t| t.to_string()).collect();
        s.questions.push(Question {
            id,
            title: title.into(),
            body: "body".into(),
            created_at_ms: id,
            author_id: author,
            author: name,
            tags,
            ..Default::default()
        });
        id
    }

    /// An answer by `author` to `question`; returns its id.
    pub fn answer(&self, author: i64, question: i64) -> i64 {
        let mut s = self.s();
        s.next_id += 1;
        let id = s.next_id;
        s.answers.push(Answer {
            id,
            question_id: question,
            body: format!("answer {id}"),
            author_id: author,
            ..Default::default()
        });
        id
    }
}

fn score(s: &State, target: &str, id: i64) -> i64 {
    s.votes.iter().filter(|v| v.1 == target && v.2 == id).map(|v| v.3 as i64).sum()
}

fn question_now(s: &State, q: &Question) -> Question {
    let mut q = q.clone();
    q.score = score(s, "question", q.id);
    q.answer_count = s.answers.iter().filter(|a| a.question_id == q.id).count() as i64;
    q
}

impl Backend for Fake {
    fn list_questions(&self, _: &Call, req: &ListQuestions) -> Res<QuestionPage> {
        let mut s = self.enter("list", "question")?;
        s.list_requests.push(req.clone());
        let all: Vec<Question> = s
            .questions
            .iter()
            .rev()
            .filter(|q| req.tag.is_empty() || q.tags.contains(&req.tag))
            .map(|q| question_now(&s, q))
            .collect();
        // Like the service: after a given question (keyset), else by page number.
        let start = match req.after {
            0 => ((req.page.max(1) - 1) * PER_PAGE) as usize,
            after => all.iter().position(|q| q.id == after).map_or(all.len(), |i| i + 1),
        };
        let questions: Vec<Question> = all.iter().skip(start).take(PER_PAGE as usize).cloned().collect();
        Ok(QuestionPage { has_more: all.len() > start + questions.len(), questions, page: req.page })
    }

    fn search(&self, _: &Call, req: &SearchQuery) -> Res<QuestionPage> {
        let mut s = self.enter("search", "question")?;
        s.search_requests.push(req.clone());
        let words: Vec<String> =
            req.q.split_whitespace().filter(|w| !w.starts_with('[')).map(str::to_lowercase).collect();
        let questions =
            s.questions.iter().filter(|q| words.iter().any(|w| q.title.to_lowercase().contains(w))).cloned().collect();
        Ok(QuestionPage { questions, page: req.page, has_more: false })
    }

    fn tags(&self, _: &Call) -> Res<TagList> {
        let s = self.enter("tags", "question")?;
        let mut tags: Vec<TagCount> = Vec::new();
        for t in s.questions.iter().flat_map(|q| q.tags.iter()) {
            match tags.iter_mut().find(|c| &c.tag == t) {
                Some(c) => c.count += 1,
                None => tags.push(TagCount { tag: t.clone(), count: 1 }),
            }
        }
        tags.sort_by_key(|c| -c.count);
        Ok(TagList { tags })
    }

    fn thread(&self, _: &Call, req: &ThreadQuery) -> Res<Thread> {
        let mut s = self.enter("thread", "question")?;
        s.thread_requests.push(*req);
        let q = s.questions.iter().find(|q| q.id == req.id).ok_or_else(|| not_found("question", req.id))?;
        let q = question_now(&s, q);
        let mut answers: Vec<Answer> = s.answers.iter().filter(|a| a.question_id == q.id).cloned().collect();
        for a in &mut answers {
            a.score = score(&s, "answer", a.id);
            a.accepted = a.id == q.accepted_answer_id;
        }
        answers.sort_by_key(|a| !a.accepted);
        let answers = answers
            .into_iter()
            .map(|a| AnswerWithComments {
                comments: s.comments.iter().filter(|c| c.answer_id == a.id).cloned().collect(),
                answer: Some(a),
            })
            .collect();
        let my_votes = s
            .votes
            .iter()
            .filter(|v| v.0 == req.viewer_id)
            .map(|v| PostVote { target: v.1.clone(), id: v.2, value: v.3 })
            .collect();
        Ok(Thread { question: Some(q), answers, answer_page: req.answer_page.max(1), more_answers: false, my_votes })
    }

    fn get_question(&self, _: &Call, id: i64) -> Res<Question> {
        let s = self.enter("get_question", "question")?;
        s.questions.iter().find(|q| q.id == id).cloned().ok_or_else(|| not_found("question", id))
    }

    fn create_question(&self, _: &Call, req: &CreateQuestion) -> Res<Question> {
        let mut s = self.create("create_question", "question", req.author_id)?;
        s.idempotency_keys.push(req.idempotency_key.clone());
        let id = s.next_id;
        let q = Question {
            id,
            title: req.title.clone(),
            body: req.body.clone(),
            created_at_ms: id,
            author_id: req.author_id,
            tags: req.tags.clone(),
            ..Default::default()
        };
        s.questions.push(q.clone());
        Ok(q)
    }

    fn edit_question(&self, _: &Call, req: &EditPost) -> Res<Question> {
        let mut s = self.enter("edit_question", "question")?;
        s.ids_seen.push(("edit_question", req.user_id));
        let q = s.questions.iter_mut().find(|q| q.id == req.id).ok_or_else(|| not_found("question", req.id))?;
        if q.author_id != req.user_id {
            return Err(BackendError::Forbidden("only the author can edit".into()));
        }
        (q.title, q.body, q.tags) = (req.title.clone(), req.body.clone(), req.tags.clone());
        let (q, rev) = (
            q.clone(),
            Revision { post_id: req.id, title: req.title.clone(), body: req.body.clone(), ..Default::default() },
        );
        s.revisions.push(("question", req.id, rev));
        Ok(q)
    }

    fn question_revisions(&self, _: &Call, id: i64) -> Res<RevisionList> {
        let s = self.enter("question_revisions", "question")?;
        if !s.questions.iter().any(|q| q.id == id) {
            return Err(not_found("question", id));
        }
        let revisions = s.revisions.iter().filter(|r| r.0 == "question" && r.1 == id).map(|r| r.2.clone()).collect();
        Ok(RevisionList { revisions })
    }

    fn create_answer(&self, _: &Call, req: &CreateAnswer) -> Res<Answer> {
        let mut s = self.create("create_answer", "answer", req.author_id)?;
        s.idempotency_keys.push(req.idempotency_key.clone());
        if !s.questions.iter().any(|q| q.id == req.question_id) {
            return Err(not_found("question", req.question_id));
        }
        let a = Answer {
            id: s.next_id,
            question_id: req.question_id,
            body: req.body.clone(),
            author_id: req.author_id,
            ..Default::default()
        };
        s.answers.push(a.clone());
        Ok(a)
    }

    fn get_answer(&self, _: &Call, id: i64) -> Res<Answer> {
        if self.answer_get_down {
            return Err(BackendError::Unavailable { service: "answer", detail: "timeout".into() });
        }
        let s = self.enter("get_answer", "answer")?;
        s.answers.iter().find(|a| a.id == id).cloned().ok_or_else(|| not_found("answer", id))
    }

    fn accept_answer(&self, _: &Call, req: &AcceptAnswer) -> Res<Answer> {
        let mut s = self.enter("accept", "answer")?;
        s.ids_seen.push(("accept", req.user_id));
        let a = s
            .answers
            .iter()
            .find(|a| a.id == req.answer_id)
            .cloned()
            .ok_or_else(|| not_found("answer", req.answer_id))?;
        let q = s
            .questions
            .iter_mut()
            .find(|q| q.id == a.question_id)
            .ok_or_else(|| not_found("question", a.question_id))?;
        if q.author_id != req.user_id {
            return Err(BackendError::Forbidden("only the asker can accept an answer".into()));
        }
        q.accepted_answer_id = a.id;
        Ok(Answer { accepted: true, ..a })
    }

    fn edit_answer(&self, _: &Call, req: &EditPost) -> Res<Answer> {
        let mut s = self.enter("edit_answer", "answer")?;
        let a = s.answers.iter_mut().find(|a| a.id == req.id).ok_or_else(|| not_found("answer", req.id))?;
        if a.author_id != req.user_id {
            return Err(BackendError::Forbidden("only the author can edit".into()));
        }
        a.body = req.body.clone();
        Ok(a.clone())
    }

    fn answer_revisions(&self, _: &Call, id: i64) -> Res<RevisionList> {
        let _s = self.enter("answer_revisions", "answer")?;
        Ok(RevisionList { revisions: vec![Revision { post_id: id, body: "original".into(), ..Default::default() }] })
    }

    fn create_comment(&self, _: &Call, req: &CreateComment) -> Res<Comment> {
        let mut s = self.create("create_comment", "comment", req.author_id)?;
        if !s.answers.iter().any(|a| a.id == req.answer_id) {
            return Err(not_found("answer", req.answer_id));
        }
        let c = Comment {
            id: s.next_id,
            answer_id: req.answer_id,
            body: req.body.clone(),
            author_id: req.author_id,
            ..Default::default()
        };
        s.comments.push(c.clone());
        Ok(c)
    }

    fn vote(&self, _: &Call, req: &CastVote) -> Res<VoteResult> {
        let mut s = self.enter("vote", "vote")?;
        s.ids_seen.push(("vote", req.user_id));
        let author = match req.target.as_str() {
            "question" => s.questions.iter().find(|q| q.id == req.id).map(|q| q.author_id),
            _ => s.answers.iter().find(|a| a.id == req.id).map(|a| a.author_id),
        };
        let author = author.ok_or_else(|| not_found(&req.target, req.id))?;
        if author == req.user_id {
            return Err(BackendError::Forbidden("you cannot vote on your own post".into()));
        }
        let value = if req.direction == "up" { 1 } else { -1 };
        let key = |v: &(i64, String, i64, i32)| v.0 == req.user_id && v.1 == req.target && v.2 == req.id;
        let same = s.votes.iter().any(|v| key(v) && v.3 == value);
        s.votes.retain(|v| !key(v));
        if !same {
            s.votes.push((req.user_id, req.target.clone(), req.id, value));
        }
        let vote = if same { "none" } else { req.direction.as_str() };
        Ok(VoteResult { score: score(&s, &req.target, req.id), vote: vote.into() })
    }

    fn sign_up(&self, _: &Call, req: &SignUp) -> Res<User> {
        let mut s = self.enter("sign_up", "user")?;
        if s.users.iter().any(|(u, _)| u.username == req.username) {
            return Err(BackendError::Conflict(format!("username {} is taken", req.username)));
        }
        s.next_id += 1;
        let u = User { id: s.next_id, username: req.username.clone(), ..Default::default() };
        s.users.push((u.clone(), req.password.clone()));
        Ok(u)
    }

    fn log_in(&self, _: &Call, req: &LogIn) -> Res<Session> {
        let mut s = self.enter("log_in", "user")?;
        let found =
            s.users.iter().find(|(u, p)| u.username == req.username && *p == req.password).map(|(u, _)| u.clone());
        let user = found.ok_or_else(|| BackendError::Unauthenticated("wrong username or password".into()))?;
        let token = format!("token-{}-{}", user.username, s.sessions.len());
        s.sessions.push((token.clone(), user.id));
        Ok(Session { token, user: Some(user) })
    }

    fn log_out(&self, _: &Call, token: &str) -> Res<()> {
        let mut s = self.enter("log_out", "user")?;
        s.sessions.retain(|(t, _)| t != token);
        Ok(())
    }

    fn authenticate(&self, _: &Call, token: &str) -> Res<User> {
        let s = self.enter("authenticate", "user")?;
        let id = s.sessions.iter().find(|(t, _)| t == token).map(|(_, id)| *id);
        let id = id.ok_or_else(|| BackendError::Unauthenticated("no such session".into()))?;
        Ok(s.users.iter().find(|(u, _)| u.id == id).map(|(u, _)| u.clone()).unwrap_or_default())
    }

    fn user_page(&self, _: &Call, req: &Username) -> Res<UserPage> {
        let s = self.enter("user_page", "user")?;
        let u = s.users.iter().find(|(u, _)| u.username == req.username).map(|(u, _)| u.clone());
        let u = u.ok_or_else(|| not_found("user", &req.username))?;
        let questions = s.questions.iter().filter(|q| q.author_id == u.id).cloned().collect();
        let answers = s.answers.iter().filter(|a| a.author_id == u.id).cloned().collect();
        Ok(UserPage { user: Some(u), questions, answers, ..Default::default() })
    }

    fn add_views(&self, _: &Call, req: &ViewCounts) -> Res<()> {
        let mut s = self.enter("add_views", "question")?;
        for (id, n) in req.ids.iter().zip(&req.counts) {
            if let Some(q) = s.questions.iter_mut().find(|q| q.id == *id) {
                q.view_count += n;
            }
        }
        Ok(())
    }
}
