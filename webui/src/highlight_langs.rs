//! What the highlighter knows about each language: a [`Spec`] for the
//! C-family scanner (comment and string syntax, keyword, type and constant
//! lists), and small scanners of their own for the data and markup
//! languages (json, yaml, toml, html, css), whose structure is keys and tags
//! rather than keywords.
//!
//! Word lists hold the words a reader expects coloured, not every reserved
//! word of every version of each language; they are short enough that a
//! linear look-up per identifier costs less than keeping them sorted would.

use crate::highlight_scan::{ident_end, is_ident, number_end, string_end, Out};

/// How the C-family scanner reads one language.
pub struct Spec {
    pub line_comments: &'static [&'static str],
    pub block_comments: &'static [(&'static str, &'static str)],
    /// Quote bytes that open a string.
    pub quotes: &'static [u8],
    /// Quotes whose strings may span lines (JS template literals).
    pub multiline_quotes: &'static [u8],
    /// Python's `"""`/`'''`.
    pub triple_quotes: &'static [&'static str],
    /// Words that turn a following quote into a string prefix (`r`, `b`, `f`…).
    pub string_prefixes: &'static [&'static str],
    /// A backslash escapes inside strings.
    pub escapes: bool,
    /// `'…'` strings take no escapes (bash).
    pub raw_single: bool,
    /// `''` inside a `'…'` string is one quote (SQL).
    pub doubled: bool,
    pub keywords: &'static [&'static str],
    pub types: &'static [&'static str],
    pub constants: &'static [&'static str],
    /// Keywords match in any case (SQL).
    pub case_insensitive: bool,
    /// `'a` is a lifetime (Rust).
    pub lifetimes: bool,
    /// `name!` is a macro (Rust).
    pub macros_bang: bool,
    /// `@name` is a decorator or annotation.
    pub decorators: bool,
    /// `#word` at a line's start is a preprocessor directive (C, C++).
    pub preprocessor: bool,
    /// `$name` is a variable (bash).
    pub dollar_vars: bool,
    /// `$` may be part of an identifier (JS).
    pub dollar_ident: bool,
    /// `#` starts a comment only as a word of its own (bash).
    pub hash_comment_word: bool,
    /// A capitalised word is a type (Rust, Java, TS, Go's exported names aside).
    pub capital_types: bool,
}

const BASE: Spec = Spec {
    line_comments: &["//"],
    block_comments: &[("/*", "*/")],
    quotes: b"\"'",
    multiline_quotes: b"",
    triple_quotes: &[],
    string_prefixes: &[],
    escapes: true,
    raw_single: false,
    doubled: false,
    keywords: &[],
    types: &[],
    constants: &[],
    case_insensitive: false,
    lifetimes: false,
    macros_bang: false,
    decorators: false,
    preprocessor: false,
    dollar_vars: false,
    dollar_ident: false,
    hash_comment_word: false,
    capital_types: true,
};

pub const RUST: Spec = Spec {
    quotes: b"\"'",
    string_prefixes: &["b", "br", "r"],
    keywords: &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "fn", "for",
        "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "static",
        "struct", "super", "trait", "type", "unsafe", "use", "where", "while",
    ],
    types: &[
        "Box", "Option", "Result", "Self", "String", "Vec", "bool", "char", "f32", "f64", "i128", "i16", "i32", "i64",
        "i8", "isize", "str", "u128", "u16", "u32", "u64", "u8", "usize",
    ],
    constants: &["Err", "None", "Ok", "Some", "false", "true"],
    lifetimes: true,
    macros_bang: true,
    ..BASE
};

pub const PYTHON: Spec = Spec {
    line_comments: &["#"],
    block_comments: &[],
    triple_quotes: &["\"\"\"", "'''"],
    string_prefixes: &["b", "br", "f", "fr", "r", "rb", "rf", "u"],
    keywords: &[
        "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
        "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass",
        "raise", "return", "try", "while", "with", "yield",
    ],
    types: &[
        "bool", "bytes", "dict", "float", "int", "len", "list", "object", "print", "range", "self", "set", "str",
        "super", "tuple", "type",
    ],
    constants: &["False", "None", "True"],
    decorators: true,
    ..BASE
};

const JS_KEYWORDS: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "export",
    "extends",
    "finally",
    "for",
    "from",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "let",
    "new",
    "of",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

pub const JS: Spec = Spec {
    quotes: b"\"'`",
    multiline_quotes: b"`",
    keywords: JS_KEYWORDS,
    types: &["Array", "JSON", "Map", "Math", "Object", "Promise", "Set", "console", "document", "window"],
    constants: &["NaN", "false", "null", "true", "undefined"],
    dollar_ident: true,
    capital_types: false,
    ..BASE
};

pub const TS: Spec = Spec {
    keywords: &[
        "abstract",
        "as",
        "async",
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "declare",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "finally",
        "for",
        "from",
        "function",
        "if",
        "implements",
        "import",
        "in",
        "instanceof",
        "interface",
        "keyof",
        "let",
        "namespace",
        "new",
        "of",
        "private",
        "protected",
        "public",
        "readonly",
        "return",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "try",
        "type",
        "typeof",
        "var",
        "void",
        "while",
        "yield",
    ],
    types: &[
        "Array", "Map", "Partial", "Promise", "Record", "Set", "any", "boolean", "never", "number", "object", "string",
        "symbol", "unknown",
    ],
    decorators: true,
    capital_types: true,
    ..JS
};

pub const GO: Spec = Spec {
    quotes: b"\"'`",
    multiline_quotes: b"`",
    keywords: &[
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
    ],
    types: &[
        "any", "append", "bool", "byte", "cap", "error", "float32", "float64", "int", "int16", "int32", "int64",
        "int8", "len", "make", "new", "rune", "string", "uint", "uint16", "uint32", "uint64", "uint8",
    ],
    constants: &["false", "iota", "nil", "true"],
    capital_types: false,
    ..BASE
};

const C_KEYWORDS: &[&str] = &[
    "break", "case", "const", "continue", "default", "do", "else", "enum", "extern", "for", "goto", "if", "inline",
    "register", "restrict", "return", "sizeof", "static", "struct", "switch", "typedef", "union", "volatile", "while",
];

const C_TYPES: &[&str] = &[
    "FILE", "bool", "char", "double", "float", "int", "int16_t", "int32_t", "int64_t", "int8_t", "long", "short",
    "signed", "size_t", "ssize_t", "uint16_t", "uint32_t", "uint64_t", "uint8_t", "unsigned", "void",
];

pub const C: Spec = Spec {
    string_prefixes: &["L", "U", "u", "u8"],
    keywords: C_KEYWORDS,
    types: C_TYPES,
    constants: &["EOF", "NULL", "false", "true"],
    preprocessor: true,
    capital_types: false,
    ..BASE
};

pub const CPP: Spec = Spec {
    string_prefixes: &["L", "R", "U", "u", "u8"],
    keywords: &[
        "auto",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "constexpr",
        "continue",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "explicit",
        "extern",
        "for",
        "friend",
        "goto",
        "if",
        "inline",
        "mutable",
        "namespace",
        "new",
        "noexcept",
        "operator",
        "override",
        "private",
        "protected",
        "public",
        "return",
        "sizeof",
        "static",
        "static_cast",
        "struct",
        "switch",
        "template",
        "this",
        "throw",
        "try",
        "typedef",
        "typename",
        "union",
        "using",
        "virtual",
        "volatile",
        "while",
    ],
    types: &[
        "bool",
        "char",
        "double",
        "float",
        "int",
        "int64_t",
        "long",
        "map",
        "short",
        "signed",
        "size_t",
        "std",
        "string",
        "uint64_t",
        "unique_ptr",
        "unsigned",
        "vector",
        "void",
    ],
    constants: &["false", "nullptr", "true"],
    ..C
};

pub const JAVA: Spec = Spec {
    keywords: &[
        "abstract",
        "assert",
        "break",
        "case",
        "catch",
        "class",
        "continue",
        "default",
        "do",
        "else",
        "enum",
        "extends",
        "final",
        "finally",
        "for",
        "if",
        "implements",
        "import",
        "instanceof",
        "interface",
        "native",
        "new",
        "package",
        "private",
        "protected",
        "public",
        "record",
        "return",
        "static",
        "super",
        "switch",
        "synchronized",
        "this",
        "throw",
        "throws",
        "try",
        "var",
        "void",
        "volatile",
        "while",
    ],
    types: &["boolean", "byte", "char", "double", "float", "int", "long", "short"],
    constants: &["false", "null", "true"],
    decorators: true,
    ..BASE
};

pub const SQL: Spec = Spec {
    line_comments: &["--"],
    quotes: b"'",
    escapes: false,
    doubled: true,
    string_prefixes: &["e"],
    keywords: &[
        "add",
        "all",
        "alter",
        "and",
        "any",
        "as",
        "asc",
        "begin",
        "between",
        "by",
        "case",
        "cascade",
        "check",
        "commit",
        "conflict",
        "constraint",
        "create",
        "cross",
        "default",
        "delete",
        "desc",
        "distinct",
        "do",
        "drop",
        "else",
        "end",
        "exists",
        "explain",
        "foreign",
        "from",
        "full",
        "function",
        "grant",
        "group",
        "having",
        "if",
        "in",
        "index",
        "inner",
        "insert",
        "into",
        "is",
        "join",
        "key",
        "left",
        "like",
        "limit",
        "not",
        "nothing",
        "offset",
        "on",
        "or",
        "order",
        "outer",
        "over",
        "partition",
        "primary",
        "references",
        "returning",
        "right",
        "rollback",
        "select",
        "set",
        "table",
        "then",
        "transaction",
        "trigger",
        "union",
        "unique",
        "update",
        "using",
        "values",
        "view",
        "when",
        "where",
        "window",
        "with",
    ],
    types: &[
        "bigint",
        "bigserial",
        "boolean",
        "bytea",
        "char",
        "date",
        "decimal",
        "double",
        "float",
        "int",
        "integer",
        "interval",
        "json",
        "jsonb",
        "numeric",
        "real",
        "serial",
        "smallint",
        "text",
        "timestamp",
        "timestamptz",
        "uuid",
        "varchar",
    ],
    constants: &["false", "null", "true"],
    case_insensitive: true,
    capital_types: false,
    ..BASE
};

pub const BASH: Spec = Spec {
    line_comments: &["#"],
    block_comments: &[],
    raw_single: true,
    keywords: &[
        "case", "do", "done", "elif", "else", "esac", "export", "fi", "for", "function", "if", "in", "local",
        "readonly", "return", "select", "then", "until", "while",
    ],
    types: &[
        "apt-get", "cargo", "cat", "cd", "curl", "echo", "exec", "exit", "git", "grep", "printf", "read", "set",
        "shift", "source", "sudo", "trap", "unset",
    ],
    constants: &["false", "true"],
    dollar_vars: true,
    hash_comment_word: true,
    capital_types: false,
    ..BASE
};

/// JSON, YAML and TOML: comments (`comment` byte, 0 for none), strings (a
/// string or bare word before `sep` is a key), numbers, `true`/`false`/
/// `null`, TOML's `[table]` headers and YAML's `&anchor`/`*alias`.
pub fn data(code: &str, out: &mut Out, comment: u8, sep: u8, yaml: bool) {
    let b = code.as_bytes();
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let class;
        if comment != 0 && c == comment && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            i = b[i..].iter().position(|&x| x == b'\n').map_or(b.len(), |e| start + e);
            class = Some("c");
        } else if c == b'"' || c == b'\'' {
            let triple: &[u8] = if c == b'"' { b"\"\"\"" } else { b"'''" };
            i = if b[i..].starts_with(triple) {
                string_end(b, i, triple, c == b'"', false, true)
            } else {
                string_end(b, i, &[c], c == b'"', yaml && c == b'\'', false)
            };
            class = Some(if next_is(b, i, sep) { "a" } else { "s" });
        } else if c == b'[' && line_start && sep == b'=' {
            i = b[i..].iter().position(|&x| x == b']' || x == b'\n').map_or(b.len(), |e| start + e + 1);
            class = Some("g");
        } else if (c == b'&' || c == b'*') && yaml && b.get(i + 1).is_some_and(|&n| is_ident(n)) {
            i = ident_end(b, i + 1, b"-");
            class = Some("v");
        } else if c.is_ascii_digit() || (c == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            i = number_end(b, i + 1);
            while i < b.len()
                && matches!(b[i], b'-' | b':' | b'.' | b'+')
                && b.get(i + 1).is_some_and(|x| x.is_ascii_digit())
            {
                i = number_end(b, i + 1);
            }
            class = Some("n");
        } else if is_ident(c) {
            i = ident_end(b, i + 1, b"-.");
            let word = &code[start..i];
            class = if next_is(b, i, sep) && (yaml || sep == b'=') {
                Some("a")
            } else if matches!(word, "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "inf" | "nan") {
                Some("n")
            } else {
                None
            };
        } else {
            i += 1;
            class = None;
        }
        out.push(class, &code[start..i]);
        line_start = b[start..i].contains(&b'\n') || (line_start && b[start..i].iter().all(|x| *x == b' '));
    }
}

/// Whether the next non-blank byte at or after `i` on this line is `sep`.
fn next_is(b: &[u8], mut i: usize, sep: u8) -> bool {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    b.get(i) == Some(&sep)
}

/// HTML and XML: tags and their names, attributes and values, comments,
/// entities. The contents of `<script>` and `<style>` stay plain text.
pub fn html(code: &str, out: &mut Out) {
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i..].starts_with(b"<!--") {
            i = b[i..].windows(3).position(|w| w == b"-->").map_or(b.len(), |e| start + e + 3);
            out.push(Some("c"), &code[start..i]);
        } else if b[i] == b'<' && b.get(i + 1).is_some_and(|&n| n == b'/' || n == b'!' || n == b'?' || is_ident(n)) {
            i = tag(code, i, out);
        } else if b[i] == b'&' {
            i = ident_end(b, i + 1, b"#");
            if b.get(i) == Some(&b';') {
                i += 1;
            }
            out.push(Some("n"), &code[start..i]);
        } else {
            i = b[i + 1..].iter().position(|&x| x == b'<' || x == b'&').map_or(b.len(), |e| start + 1 + e);
            out.push(None, &code[start..i]);
        }
    }
}

/// One tag from its `<` at `i`; returns where it ends.
fn tag(code: &str, mut i: usize, out: &mut Out) -> usize {
    let b = code.as_bytes();
    let open = i;
    i += 1;
    while i < b.len() && matches!(b[i], b'/' | b'!' | b'?') {
        i += 1;
    }
    out.push(None, &code[open..i]);
    let name = i;
    i = ident_end(b, i, b"-:");
    out.push(Some("g"), &code[name..i]);
    while i < b.len() && b[i] != b'>' && b[i] != b'<' {
        let start = i;
        if b[i] == b'"' || b[i] == b'\'' {
            i = string_end(b, i, &[b[i]], false, false, true);
            out.push(Some("s"), &code[start..i]);
        } else if is_ident(b[i]) {
            i = ident_end(b, i, b"-:");
            out.push(Some("a"), &code[start..i]);
        } else {
            i += 1;
            out.push(None, &code[start..i]);
        }
    }
    if b.get(i) == Some(&b'>') {
        out.push(None, ">");
        i += 1;
    }
    i
}

/// CSS: comments, strings, at-rules, selectors (outside braces), properties
/// (before a `:` inside braces), numbers with units, `#hex`, `!important`.
pub fn css(code: &str, out: &mut Out) {
    let b = code.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let class;
        if b[i..].starts_with(b"/*") {
            i = b[i + 2..].windows(2).position(|w| w == b"*/").map_or(b.len(), |e| start + 2 + e + 2);
            class = Some("c");
        } else if c == b'"' || c == b'\'' {
            i = string_end(b, i, &[c], true, false, false);
            class = Some("s");
        } else if c == b'@' || (c == b'!' && b.get(i + 1).is_some_and(|&n| is_ident(n))) {
            i = ident_end(b, i + 1, b"-");
            class = Some("k");
        } else if c == b'#' && depth > 0 {
            i = ident_end(b, i + 1, &[]);
            class = Some("n");
        } else if c.is_ascii_digit() || (c == b'.' && depth > 0 && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            i = number_end(b, i + 1);
            while i < b.len() && (b[i] == b'%' || b[i].is_ascii_alphabetic()) {
                i += 1;
            }
            class = Some("n");
        } else if is_ident(c) || c == b'-' || ((c == b'.' || c == b'#' || c == b':') && depth == 0) {
            i = ident_end(b, i + 1, b"-");
            class = if depth == 0 {
                Some("g")
            } else if next_is(b, i, b':') {
                Some("a")
            } else {
                None
            };
        } else {
            if c == b'{' {
                depth += 1;
            } else if c == b'}' {
                depth = depth.saturating_sub(1);
            }
            i += 1;
            class = None;
        }
        out.push(class, &code[start..i]);
    }
}
