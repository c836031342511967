//! Extraction of the shell examples from the documentation, shared by `tests/docs.rs` (the man
//! page's EXAMPLES must come back out exactly as generated) and `tests/examples.rs` (every
//! example of the man page and of README.md runs against a test broker).
//!
//! Included with `#[path = "support/examples.rs"] mod examples_support;`; not a test target of
//! its own (Cargo only builds `tests/*.rs` and `tests/*/main.rs`).
#![allow(dead_code)]

/// The EXAMPLES of a man page as a user would type them: for each line of a `.nf` block, the
/// text since the paragraph began (joined into one line) and the command, unescaped.
pub fn man_examples(page: &str) -> Vec<(String, String)> {
    let section = page
        .split("\n.SH ")
        .find(|s| s.starts_with("EXAMPLES\n"))
        .expect("an EXAMPLES section");
    let mut examples = Vec::new();
    let mut what: Vec<&str> = Vec::new();
    let mut fill = true;
    for line in section.lines().skip(1) {
        match line {
            ".nf" => fill = false,
            ".fi" => fill = true,
            ".PP" | ".P" | ".LP" => what.clear(),
            _ if line.starts_with('.') => {}
            _ if fill => what.push(line),
            _ => examples.push((unescape(&what.join(" ")), unescape(line))),
        }
    }
    examples
}

/// Undoes the escaping of `esc` in tests/docs.rs (and the `\\` clap_mangen writes for a
/// backslash). Panics on any other roff escape.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        for (escape, plain) in [
            (r"\*(Aq", "'"),
            (r"\-", "-"),
            (r"\e", "\\"),
            (r"\\", "\\"),
            (r"\&", ""),
        ] {
            if let Some(after) = rest.strip_prefix(escape) {
                out.push_str(plain);
                rest = after;
                continue 'outer;
            }
        }
        panic!("unexpected roff escape in {text:?}");
    }
    out.push_str(rest);
    out
}

/// One fenced code block of a Markdown file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The info string after the opening ```` ``` ````, trimmed (`sh`, `json`, or empty).
    pub info: String,
    /// 1-based line number of the first line inside the block.
    pub line: usize,
    /// The lines inside the block, as written.
    pub lines: Vec<String>,
}

/// Every ```` ``` ```` fenced block of `markdown`, in order. Panics on an unclosed fence.
pub fn markdown_fences(markdown: &str) -> Vec<Fence> {
    let mut fences = Vec::new();
    let mut open: Option<Fence> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match open.take() {
            None if fence => {
                open = Some(Fence {
                    info: line.trim_start()[3..].trim().to_owned(),
                    line: i + 2,
                    lines: Vec::new(),
                })
            }
            None => {}
            Some(f) if fence => fences.push(f),
            Some(mut f) => {
                f.lines.push(line.to_owned());
                open = Some(f);
            }
        }
    }
    if let Some(f) = open {
        panic!("unclosed ``` fence opened before line {}", f.line);
    }
    fences
}

/// `line` without its trailing shell comment (a `#` that starts a word outside quotes), with
/// trailing blanks removed: `mqttc localhost   # check` → `mqttc localhost`; the `#` of
/// `'demo/#'` stays.
pub fn strip_shell_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return line[..i].trim_end(),
            None => {}
        }
        prev = c;
    }
    line.trim_end()
}

/// Whether a line of shell runs `mqttc`: one of its words, split at blanks and at the shell
/// operators `| & ; ( )` (so `$(mqttc …)` and `a|mqttc` count), is exactly `mqttc`.
pub fn runs_mqttc(shell: &str) -> bool {
    shell
        .split(|c: char| c.is_whitespace() || "|&;()".contains(c))
        .any(|w| w == "mqttc")
}
