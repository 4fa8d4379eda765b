//! The highlighter: each language's comments, strings, numbers and keywords
//! land in their classes, and whatever the input, the text of the output is
//! the input (nothing of it becomes markup, nothing is lost or doubled).

use webui::highlight::{highlight, Lang};

/// The output with its spans taken out and entities decoded.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('>').expect("a tag ends") + i;
        let tag = &rest[i..=end];
        assert!(tag == "</span>" || tag.starts_with("<span class=\""), "only our spans: {tag}");
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

fn has(html: &str, class: &str, text: &str) -> bool {
    html.contains(&format!("<span class=\"{class}\">{text}</span>"))
}

const ALL: [Lang; 15] = [
    Lang::Rust,
    Lang::Python,
    Lang::JavaScript,
    Lang::TypeScript,
    Lang::Go,
    Lang::C,
    Lang::Cpp,
    Lang::Java,
    Lang::Sql,
    Lang::Bash,
    Lang::Json,
    Lang::Yaml,
    Lang::Toml,
    Lang::Html,
    Lang::Css,
];

#[test]
fn tags_and_aliases_name_languages() {
    for (tag, lang) in [
        ("rust", Lang::Rust),
        ("RS", Lang::Rust),
        ("py", Lang::Python),
        ("js", Lang::JavaScript),
        ("tsx", Lang::TypeScript),
        ("golang", Lang::Go),
        ("h", Lang::C),
        ("c++", Lang::Cpp),
        ("java", Lang::Java),
        ("postgresql", Lang::Sql),
        ("sh", Lang::Bash),
        ("json", Lang::Json),
        ("yml", Lang::Yaml),
        ("toml", Lang::Toml),
        ("xml", Lang::Html),
        ("css", Lang::Css),
        ("rust,ignore", Lang::Rust),
    ] {
        assert_eq!(Lang::from_tag(tag), Some(lang), "{tag}");
    }
    assert_eq!(Lang::from_tag("brainfuck"), None);
    assert_eq!(Lang::from_tag(""), None);
}

#[test]
fn each_language_colours_what_a_reader_expects() {
    let rust = highlight(Lang::Rust, "fn main() { let s = \"hi\"; // note\n println!(\"{}\", 42u8); 'a: loop {} }");
    assert!(has(&rust, "k", "fn") && has(&rust, "f", "main") && has(&rust, "s", "&quot;hi&quot;"), "{rust}");
    assert!(has(&rust, "c", "// note") && has(&rust, "m", "println") && has(&rust, "n", "42u8"), "{rust}");
    assert!(has(&rust, "t", "&#39;a"), "a label, not a char: {rust}");
    let raw = highlight(Lang::Rust, "let r = r#\"a \"quoted\" b\"#;");
    assert!(has(&raw, "s", "r#&quot;a &quot;quoted&quot; b&quot;#"), "{raw}");
    let py = highlight(Lang::Python, "@cache\ndef f(x):\n    \"\"\"doc\n    string\"\"\"\n    return None  # done\n");
    assert!(
        has(&py, "m", "@cache")
            && has(&py, "k", "def")
            && has(&py, "s", "&quot;&quot;&quot;doc\n    string&quot;&quot;&quot;"),
        "{py}"
    );
    assert!(has(&py, "n", "None") && has(&py, "c", "# done"), "{py}");
    let js = highlight(Lang::JavaScript, "const t = `a\n${b}`; /* c */ x = null;");
    assert!(
        has(&js, "k", "const") && has(&js, "s", "`a\n${b}`") && has(&js, "c", "/* c */") && has(&js, "n", "null"),
        "{js}"
    );
    let ts = highlight(Lang::TypeScript, "interface P { n: number }");
    assert!(has(&ts, "k", "interface") && has(&ts, "t", "number") && has(&ts, "t", "P"), "{ts}");
    let go = highlight(Lang::Go, "func main() { var x int = 0x1F; _ = nil }");
    assert!(has(&go, "k", "func") && has(&go, "t", "int") && has(&go, "n", "0x1F") && has(&go, "n", "nil"), "{go}");
    let c = highlight(Lang::C, "#include <stdio.h>\nint main(void) { return 0; }");
    assert!(has(&c, "m", "#include") && has(&c, "t", "int") && has(&c, "k", "return"), "{c}");
    let cpp = highlight(Lang::Cpp, "template <typename T> class V { std::vector<T> v; };");
    assert!(has(&cpp, "k", "template") && has(&cpp, "k", "class") && has(&cpp, "t", "vector"), "{cpp}");
    let java = highlight(Lang::Java, "@Override public String toString() { return \"x\"; }");
    assert!(has(&java, "m", "@Override") && has(&java, "k", "public") && has(&java, "t", "String"), "{java}");
    let sql = highlight(Lang::Sql, "SELECT id FROM t WHERE name = 'it''s' -- why\n LIMIT 5");
    assert!(has(&sql, "k", "SELECT") && has(&sql, "s", "&#39;it&#39;&#39;s&#39;") && has(&sql, "c", "-- why"), "{sql}");
    let sh = highlight(Lang::Bash, "if [ -n \"$HOME\" ]; then echo ${PATH} $# # comment\nfi");
    assert!(has(&sh, "k", "if") && has(&sh, "v", "${PATH}") && has(&sh, "c", "# comment"), "{sh}");
    assert!(!has(&sh, "c", "# # comment"), "$# is a variable: {sh}");
    let json = highlight(Lang::Json, "{\"key\": \"value\", \"n\": -1.5e3, \"ok\": true}");
    assert!(has(&json, "a", "&quot;key&quot;") && has(&json, "s", "&quot;value&quot;"), "{json}");
    assert!(has(&json, "n", "-1.5e3") && has(&json, "n", "true"), "{json}");
    let yaml = highlight(Lang::Yaml, "name: web # comment\nports:\n  - 8080\n");
    assert!(has(&yaml, "a", "name") && has(&yaml, "c", "# comment") && has(&yaml, "n", "8080"), "{yaml}");
    let toml = highlight(Lang::Toml, "[package]\nname = \"x\"\nversion = 1\n");
    assert!(has(&toml, "g", "[package]") && has(&toml, "a", "name") && has(&toml, "s", "&quot;x&quot;"), "{toml}");
    let html = highlight(Lang::Html, "<a href=\"/x\">t &amp; u</a><!-- c -->");
    assert!(has(&html, "g", "a") && has(&html, "a", "href") && has(&html, "s", "&quot;/x&quot;"), "{html}");
    assert!(has(&html, "n", "&amp;amp;") && has(&html, "c", "&lt;!-- c --&gt;"), "{html}");
    let css = highlight(Lang::Css, "@media (x) { .a { color: #fff; width: 10px } }");
    assert!(
        has(&css, "k", "@media") && has(&css, "a", "color") && has(&css, "n", "#fff") && has(&css, "n", "10px"),
        "{css}"
    );
}

#[test]
fn output_text_is_the_input_for_every_language() {
    let samples = [
        "",
        "<script>alert('x')</script> & \"q\"",
        "unterminated \"string\n'and 'char\n/* open comment",
        "r#\"never closed",
        "$ ${ $( @ # ' ` \\",
        "ünïcödé → ✓ 𝄞 \"ü\" 'ü' // ü\n#ü @ü $ü",
        "0x 1e+ 1.2.3 .5 5. 1_000u32 -",
        "<a b='c' d=\"e\" f>&amp;&#39;&x</a><!-- ",
        "[table\nkey = 'v'\n- &a *b\n",
        "@media{a:b;}}}{{/* x",
    ];
    for lang in ALL {
        for s in samples {
            let out = highlight(lang, s);
            assert_eq!(text_of(&out), s, "{lang:?} on {s:?}: {out}");
        }
    }
    // Every byte value that is a char, in every language.
    let all: String = (1u8..128).map(char::from).collect();
    for lang in ALL {
        assert_eq!(text_of(&highlight(lang, &all)), all, "{lang:?}");
    }
}

#[test]
fn random_input_never_becomes_markup() {
    // A small deterministic generator (xorshift): inputs mixing the bytes the
    // scanners treat specially with letters, digits and non-ASCII text.
    let alphabet: Vec<char> = "\"'`#/*-<>&;:=[]{}()@$!\\\n \tabcxyz019_.rfbü✓".chars().collect();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for round in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 60) as usize;
        let s: String =
            (0..len).map(|i| alphabet[((x >> (i % 50)) as usize ^ i.wrapping_mul(31)) % alphabet.len()]).collect();
        let lang = ALL[round % ALL.len()];
        let out = highlight(lang, &s);
        assert_eq!(text_of(&out), s, "{lang:?} on {s:?}");
    }
}
