//! Unit tests of `webui::pages::forms`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;
use crate::csrf;
use proto::pb::Revision;

fn v() -> Viewer {
    Viewer { csrf: csrf::new_token(), ..Default::default() }
}

#[test]
fn ask_form_keeps_input_and_marks_the_named_field() {
    let e = Invalid { field: Some(Field::Title), message: "title must be 1 to 200 characters".into() };
    let f = QuestionForm { title: "\"><script>x</script>".into(), body: "my <body>".into(), tags: "a b".into() };
    let doc = ask(&v(), &f, Some(&e));
    assert!(doc.contains("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\" aria-invalid=\"true\""));
    assert!(doc.contains(">\nmy &lt;body&gt;</textarea>"));
    assert!(doc.contains("name=\"tags\" maxlength=\"200\" required value=\"a b\""));
    assert!(doc.contains("title must be 1 to 200 characters"));
    assert!(!doc.contains("<script"));
    let blank = ask(&v(), &QuestionForm::default(), None);
    assert!(!blank.contains("aria-invalid") && !blank.contains("role=\"alert\""));
    assert!(blank.contains("action=\"/ask\"") && blank.contains("name=\"csrf\"") && blank.contains("name=\"idem\""));
}

#[test]
fn edit_forms_post_to_the_post() {
    let f = QuestionForm { title: "T".into(), body: "B".into(), tags: "x y".into() };
    let q = edit_question(&v(), 7, &f, None);
    assert!(q.contains("action=\"/questions/7/edit\"") && q.contains("value=\"x y\"") && q.contains(">\nB</textarea>"));
    let a = edit_answer(&v(), 9, 7, "old <text>", None);
    assert!(a.contains("action=\"/answers/9/edit\"") && a.contains(">\nold &lt;text&gt;</textarea>"));
    assert!(a.contains("href=\"/questions/7#answer-9\">Cancel"));
}

#[test]
fn account_forms_never_refill_the_password() {
    let e = Invalid { field: Some(Field::Password), message: "wrong username or password".into() };
    let doc = account(&v(), Account::Login, "ann<", "/questions/7", Some(&e));
    assert!(doc.contains("name=\"next\" value=\"/questions/7\""));
    assert!(doc.contains("value=\"ann&lt;\""));
    assert!(doc.contains("type=\"password\" id=\"password\" name=\"password\" maxlength=\"200\" required value=\"\" autocomplete=\"current-password\" aria-invalid=\"true\""));
    let up = account(&v(), Account::Signup, "", "", None);
    assert!(up.contains("action=\"/signup\"") && !up.contains("name=\"next\"") && up.contains("new-password"));
}

#[test]
fn revisions_list_every_version_oldest_first() {
    let list = RevisionList {
        revisions: vec![
            Revision {
                id: 1,
                editor: "ann".into(),
                title: "Old <t>".into(),
                body: "v1".into(),
                tags: vec!["a".into()],
                ..Default::default()
            },
            Revision {
                id: 2,
                editor: "ann".into(),
                title: "New".into(),
                body: "<script>v2</script>".into(),
                ..Default::default()
            },
        ],
    };
    let doc = revisions(&v(), PostKind::Question, "/questions/3", &list);
    assert!(doc.contains("Revision 1 (original) by <a href=\"/users/ann\">ann</a>"));
    assert!(doc.find("Old &lt;t&gt;").unwrap() < doc.find("<h2>New</h2>").unwrap());
    assert!(!doc.contains("<script") && doc.contains("&lt;script&gt;v2"));
    assert!(doc.contains("href=\"/questions/3\">Back to the question"));
    let a = revisions(&v(), PostKind::Answer, "/questions/3#answer-4", &list);
    assert!(!a.contains("<h2>New</h2>"), "answers have no titles");
}
