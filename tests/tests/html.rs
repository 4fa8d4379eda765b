//! Acceptance 3: the HTML flow a person follows, through the balancer:
//! ask, follow the 303, answer, comment; user text is always shown as text.

use tests::{Cluster, Shape};

fn small() -> Shape {
    Shape { questions: 1, answers: 1, comments: 1, webuis: 1 }
}

#[test]
fn ask_follow_the_redirect_and_see_the_title() {
    let c = Cluster::start("html-ask", small());
    let http = c.http();
    let form = http.get("/ask");
    assert_eq!(form.status, 200);
    assert!(form.header("content-type").unwrap_or("").starts_with("text/html"));
    assert!(form.text().contains("<form"), "{}", form.text());

    let r = http.post_form("/ask", &[("title", "Why is my socket half-closed?"), ("body", "line one\nline two")]);
    assert_eq!(r.status, 303, "{}", r.text());
    let loc = r.header("location").expect("Location").to_string();
    assert!(loc.starts_with("/questions/"), "{loc}");

    let page = http.get(&loc);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Why is my socket half-closed?"));

    // Answer and comment through the page's forms, each redirecting back.
    let r = http.post_form(&format!("{loc}/answers"), &[("body", "Call shutdown(Write).")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().starts_with(&loc));
    let thread = http.get(&format!("/webserv{}", loc.replace("/questions/", "/question/"))).json();
    let aid = thread["answers"][0]["id"].as_i64().expect("answer stored");
    let r = http.post_form(&format!("/answers/{aid}/comments"), &[("body", "Thanks, that was it.")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().starts_with(&loc));
    let page = http.get(&loc).text();
    assert!(page.contains("Call shutdown(Write)."));
    assert!(page.contains("Thanks, that was it."));

    // And the front page links to it.
    assert!(http.get("/").text().contains(&loc));
}

#[test]
fn script_in_a_title_is_text_never_a_tag() {
    let c = Cluster::start("html-xss", small());
    let http = c.http();
    let r = http.post_form("/ask", &[("title", "<script>alert(1)</script>"), ("body", "<img src=x onerror=alert(2)>")]);
    assert_eq!(r.status, 303, "{}", r.text());
    let page = http.get(r.header("location").unwrap()).text();
    assert!(!page.contains("<script>alert(1)</script>"), "raw script tag in page");
    assert!(!page.contains("<img src=x"), "raw img tag in page");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "escaped title shown");
    assert!(!http.get("/").text().contains("<script>alert(1)"));
}

#[test]
fn a_form_error_rerenders_the_form_with_a_400() {
    let c = Cluster::start("html-error", small());
    let http = c.http();
    let r = http.post_form("/ask", &[("title", ""), ("body", "I kept my body text")]);
    assert_eq!(r.status, 400);
    let page = r.text();
    assert!(page.contains("<form"), "the form is shown again");
    assert!(page.to_lowercase().contains("title"), "the message names the field");
    assert!(page.contains("I kept my body text"), "the user's input is kept");
    assert_eq!(http.get("/questions/99999").status, 404);
    assert_eq!(http.get("/no/such/page").status, 404);
}
