//! The man page and the shell completions, generated from the clap definition
//! (`mqttc::cli::command()`) and committed as `man/mqttc.1` and `completions/*`.
//!
//! These tests regenerate every file in memory and fail, with a diff, when the committed file
//! differs; `MQTTC_REGENERATE=1 cargo test --test docs` rewrites the files instead. The
//! generators are dev-dependencies, so the release binary carries none of them.
//!
//! The man page is clap_mangen's NAME, SYNOPSIS, DESCRIPTION and OPTIONS (one subsection per
//! help heading), followed by what clap does not hold, written here: EXIT STATUS (from
//! `Status::ALL`, so it cannot drift), ENVIRONMENT, EXAMPLES, BUGS and SEE ALSO. The whole page
//! is then tidied to lint clean: one sentence per line, lines of at most 80 bytes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap_complete::{Generator, Shell};
use mqttc::config::{ENV_ADDRESS, ENV_PASSWORD};
use mqttc::exit::Status;

#[path = "support/examples.rs"]
mod examples_support;

use examples_support::{man_examples, unescape};

const REGENERATE: &str = "MQTTC_REGENERATE";
const HOW_TO_REGENERATE: &str = "run MQTTC_REGENERATE=1 cargo test --test docs";

/// The date in the man page footer: the date of the last release. Bump it with the version.
const MAN_DATE: &str = "2026-11-25";

/// One EXAMPLES entry: a sentence, then a single shell command line (a pipeline is fine).
///
/// Every command is executed against a test broker, which substitutes the broker address
/// (`localhost`, `/run/mosquitto/mqtt.sock`) and the files (`ca.pem`, `client.pem`,
/// `client-key.pem`, `password.txt`, `app.log`); the user is `alice`. So use those names.
struct Example {
    what: &'static str,
    command: &'static str,
}

const EXAMPLES: &[Example] = &[
    Example {
        what: "Publish standard input as one message to the topic chat/misc:",
        command: "echo hello | mqttc -p chat/misc localhost",
    },
    Example {
        what: "Publish a message given on the command line:",
        command: "mqttc -p sensors/door -m open localhost",
    },
    Example {
        what: "Publish at QoS 1, so that the run succeeds only once the broker has \
               acknowledged the message, and have the broker retain it for later subscribers:",
        command: "mqttc -q 1 -r -p config/interval -m 30s localhost",
    },
    Example {
        what: "Publish the content of a file as one message:",
        command: "mqttc -p logs/archive -f app.log localhost",
    },
    Example {
        what: "Stream a log file, one message per line as each line is written, every message \
               acknowledged:",
        command: "tail -F app.log | mqttc -l -q 1 -p logs localhost",
    },
    Example {
        what: "Print every message under sensors/ as its topic, a colon and the message:",
        command: "mqttc -s 'sensors/#' --topic --prefix ': ' localhost",
    },
    Example {
        what: "Print the messages of two filters with topics and messages as quoted strings, \
               safe for any payload:",
        command: "mqttc -s 'sensors/+/temperature' -s 'alerts/#' --topic --quote --prefix ' ' \
                  localhost",
    },
    Example {
        what: "Print messages as JSON lines, for jq and other tools:",
        command: "mqttc -s 'sensors/#' -o json localhost",
    },
    Example {
        what: "Print the next three messages of a topic, then exit 0:",
        command: "mqttc -s sensors/kitchen/temperature -C 3 localhost",
    },
    Example {
        what: "Print the first message only; mqttc exits 0 when it finds the pipe closed:",
        command: "mqttc -s 'sensors/#' localhost | head -n 1",
    },
    Example {
        what: "Print the retained messages the broker holds, then exit 0:",
        command: "mqttc -s '#' --retained-only --topic --prefix ' ' localhost",
    },
    Example {
        what: "Clear the retained messages below sensors/ (each one printed, then removed by an \
               empty retained message):",
        command: "mqttc -s 'sensors/#' --retained-only --remove-retained --topic --prefix ' ' \
                  localhost",
    },
    Example {
        what: "Publish to several topics in one run, one JSON record per line (the format -o json \
               prints, so a capture replays unchanged):",
        command: "printf '%s\\n' '{\"topic\":\"lights/hall\",\"payload\":\"on\"}' \
                  '{\"topic\":\"lights/door\",\"payload\":\"off\",\"qos\":1,\"retain\":true}' \
                  | mqttc --input json localhost",
    },
    Example {
        what: "Check the broker end to end: publish a message and print it when it comes back \
               (the subscription is confirmed before the message goes out):",
        command: "mqttc -s greetings -C 1 -p greetings -m hello localhost",
    },
    Example {
        what: "Prove that messages flow: publish to a topic of the probe's own, wait for the \
               message to come back, and print the connect, subscribe and round-trip times:",
        command: "mqttc --probe localhost",
    },
    Example {
        what: "Check the broker's health in a script, branching on the exit status:",
        command: "mqttc --quiet localhost; case $? in 0) echo up ;; 8|9) echo refused ;; \
                  *) echo down ;; esac",
    },
    Example {
        what: "Publish with MQTT 5, with a content type, a user property and an expiry \
               interval:",
        command: "mqttc --mqtt-version 5 -p greetings -m hello --content-type text/plain \
                  --property origin=cli --message-expiry 60 localhost",
    },
    Example {
        what: "Connect with TLS, trusting a private CA and presenting a client certificate:",
        command: "mqttc --tls --ca ca.pem --cert client.pem --key client-key.pem -p greetings \
                  -m hello localhost",
    },
    Example {
        what: "Log in as alice with the password in a file:",
        command: "mqttc -u alice --pass password.txt -p private/notes -m hello localhost",
    },
    Example {
        what: "Log in with the password in the environment, for instance from a secret store:",
        command: "MQTTC_PASSWORD=\"$(cat password.txt)\" mqttc -u alice -p private/notes -m hello \
                  localhost",
    },
    Example {
        what: "Subscribe with a will: should this client vanish or be interrupted, the broker \
               publishes offline to status/worker and retains it (a clean end sends no will):",
        command: "mqttc --will-topic status/worker --will-message offline --will-retain \
                  -s jobs/worker localhost",
    },
    Example {
        what: "Connect through a unix domain socket:",
        command: "mqttc --net unix -p greetings -m hello /run/mosquitto/mqtt.sock",
    },
];

// ── Generation ───────────────────────────────────────────────────────────────

/// The complete man page, as committed in `man/mqttc.1`.
fn man_page() -> String {
    // --help ends with the exit statuses and short examples; the man page has sections of its own.
    let cmd = mqttc::cli::command()
        .after_help(None::<&str>)
        .after_long_help(None::<&str>);
    let mut headings: Vec<String> = Vec::new();
    for heading in cmd.get_arguments().filter_map(|a| a.get_help_heading()) {
        if !headings.iter().any(|h| h == heading) {
            headings.push(heading.to_owned());
        }
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .title("MQTTC")
        .date(MAN_DATE)
        .source(concat!("mqttc ", env!("CARGO_PKG_VERSION")))
        .manual("User Commands")
        .render(&mut page)
        .expect("rendering the man page");
    let mut page = String::from_utf8(page).expect("clap_mangen writes UTF-8");
    page.push_str(&extra_sections());
    let usage = mqttc::cli::command().render_usage().to_string();
    tidy(&page, &headings, &synopsis(&usage))
}

/// The SYNOPSIS from clap's usage line, as --help shows it: clap_mangen's own lists every
/// option without its value, so that `[-p|--publish]` reads like a flag.
fn synopsis(usage: &str) -> String {
    let usage = usage.trim();
    let usage = usage.strip_prefix("Usage: ").unwrap_or(usage);
    let mut words = usage.split(' ');
    let mut line = format!(r"\fB{}\fR", words.next().expect("a command name"));
    for word in words {
        // Brackets and dots stay roman, the placeholder in between is italic.
        let name = word.trim_matches(['[', ']', '<', '>', '.']);
        let at = word.find(name).unwrap_or(0);
        let (before, after) = (&word[..at], &word[at + name.len()..]);
        line.push_str(&format!(r" {before}\fI{}\fR{after}", esc(name)));
    }
    line
}

/// What an exit status means, with the CONNACK codes behind a refusal (from the mapping the
/// session uses).
fn meaning(status: Status) -> String {
    let mut text = status.meaning().to_owned();
    if !matches!(status, Status::Ok | Status::Operational) {
        let v4: Vec<String> = (1..=u8::MAX)
            .filter(|&c| Status::from_connack_v4(c) == status)
            .map(|c| c.to_string())
            .collect();
        let v5: Vec<String> = (0x80..=u8::MAX)
            .filter(|&c| Status::from_connack_v5(c) == status)
            .map(|c| format!("0x{c:02X}"))
            .collect();
        if !v4.is_empty() && !v5.is_empty() {
            text.push_str(&format!(
                " (CONNACK return code {} in MQTT 3.1.1, reason code {} in MQTT 5)",
                v4.join(" or "),
                v5.join(" or ")
            ));
        }
    }
    text
}

/// The sections clap does not hold, in roff.
fn extra_sections() -> String {
    let mut s = String::new();

    s.push_str(".SH EXIT STATUS\n");
    for status in Status::ALL {
        s.push_str(&format!(
            ".TP\n.B {}\n{}\n",
            status.code(),
            esc(&meaning(status))
        ));
    }

    s.push_str(".SH ENVIRONMENT\n");
    for (name, text) in [
        (
            ENV_ADDRESS,
            "The broker address when no ADDRESS argument is given; without it, localhost.",
        ),
        (
            ENV_PASSWORD,
            "The password when --user is given without --pass. Unlike an option, the \
             environment of a process is not visible to other users.",
        ),
        (
            "SSL_CERT_FILE",
            "With TLS, trust the PEM certificates in this file instead of the system's \
             certificate store (--ca adds to the trusted certificates in any case).",
        ),
        (
            "SSL_CERT_DIR",
            "With TLS, trust the certificates in these directories, separated by colons, \
             instead of the system's certificate store.",
        ),
    ] {
        s.push_str(&format!(".TP\n.B {name}\n{}\n", esc(text)));
    }

    s.push_str(".SH EXAMPLES\n");
    for (i, example) in EXAMPLES.iter().enumerate() {
        // A paragraph macro right after .SH is redundant (mandoc warns).
        if i > 0 {
            s.push_str(".PP\n");
        }
        s.push_str(&format!(
            "{}\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
            esc(example.what),
            esc(example.command)
        ));
    }

    s.push_str(".SH BUGS\n");
    s.push_str(&esc(
        "A lost connection is not established again: the run ends with status 1, and a \
         script that must stay subscribed has to start mqttc again.",
    ));
    s.push('\n');

    s.push_str(".SH SEE ALSO\n.BR mosquitto_pub (1),\n.BR mosquitto_sub (1),\n.BR mosquitto (8)\n");
    s
}

/// Escapes plain text for a roff text line: backslashes, hyphens (so that options copy as
/// ASCII `-`), apostrophes (`\*(Aq`, defined by clap_mangen's preamble, so that quotes copy as
/// `'`) and a leading period.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    if text.starts_with('.') {
        out.push_str(r"\&");
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\e"),
            '-' => out.push_str(r"\-"),
            '\'' => out.push_str(r"\*(Aq"),
            c => out.push(c),
        }
    }
    out
}

/// Tidies clap_mangen's output and ours for the linters and for readers of `man mqttc`:
/// help headings become subsections of OPTIONS (clap_mangen makes each a section of its own),
/// the SYNOPSIS is replaced, the VERSION section goes (the version is in the footer), and
/// filled text is broken into one sentence per line and at most 80 bytes per line.
fn tidy(page: &str, headings: &[String], synopsis: &str) -> String {
    let mut out = String::with_capacity(page.len() + page.len() / 8);
    let mut skip = false;
    let mut fill = true;
    let mut tag_next = false;
    for line in page.lines() {
        if let Some(name) = line.strip_prefix(".SH ") {
            // roff quotes a heading with a space in it.
            let name = name.trim_matches('"');
            skip = name == "VERSION";
            if let Some(heading) = headings.iter().find(|h| h.to_uppercase() == name) {
                out.push_str(&format!(".SS {heading}\n"));
                continue;
            }
            if name == "SYNOPSIS" {
                out.push_str(&format!("{line}\n{synopsis}\n"));
                skip = true;
                continue;
            }
        }
        if skip {
            continue;
        }
        if line.starts_with(".TH ") {
            // Ragged right and no hyphenation: long URLs and option names otherwise stretch
            // lines or break at their hyphens.
            out.push_str(&format!("{line}\n.ad l\n.nh\n"));
            continue;
        }
        let control = line.starts_with(['.', '\'']);
        if !control && fill && !tag_next {
            wrap(line, &mut out);
        } else if fill || control {
            out.push_str(line.trim_end());
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
        match line {
            ".nf" => fill = false,
            ".fi" => fill = true,
            _ => {}
        }
        // The line after .TP is the tag: it must stay one line.
        tag_next = line == ".TP";
    }
    out
}

const MAX_LINE: usize = 80;

/// Writes a filled text line as one line per sentence, each broken at spaces to at most
/// [`MAX_LINE`] bytes where it can be. A break never follows a word ending in a period (an
/// abbreviation would read as a sentence end) and never puts `.` or `'` first on a line.
fn wrap(line: &str, out: &mut String) {
    for sentence in sentences(line) {
        let mut current = String::new();
        for word in sentence.split(' ').filter(|w| !w.is_empty()) {
            if current.is_empty() {
                current.push_str(word);
                continue;
            }
            let breakable = !current.ends_with(['.', '?', '!']) && !word.starts_with(['.', '\'']);
            if current.len() + 1 + word.len() > MAX_LINE && breakable {
                out.push_str(&current);
                out.push('\n');
                current.clear();
            } else {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push_str(&current);
        out.push('\n');
    }
}

/// Splits text after `.`, `?` or `!` (and any closing parenthesis) followed by a space and an
/// upper-case letter.
fn sentences(line: &str) -> Vec<&str> {
    let bytes = line.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 0..bytes.len() {
        if !matches!(bytes[i], b'.' | b'?' | b'!') {
            continue;
        }
        let mut j = i + 1;
        while j < bytes.len() && bytes[j] == b')' {
            j += 1;
        }
        let spaces = bytes[j..].iter().take_while(|&&b| b == b' ').count();
        if spaces > 0 && bytes.get(j + spaces).is_some_and(u8::is_ascii_uppercase) {
            parts.push(&line[start..j]);
            start = j + spaces;
        }
    }
    parts.push(&line[start..]);
    parts
}

const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::PowerShell,
    Shell::Elvish,
];

/// The completion script for `shell`, and its path relative to the crate root.
fn completion(shell: Shell) -> (PathBuf, String) {
    let mut cmd = mqttc::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mqttc", &mut script);
    let path = Path::new("completions").join(shell.file_name("mqttc"));
    (
        path,
        String::from_utf8(script).expect("clap_complete writes UTF-8"),
    )
}

/// The parts of README.md generated from the definition, by name. In any Markdown file that
/// has them, each sits between `<!-- mqttc-docs:NAME -->` and `<!-- /mqttc-docs:NAME -->`.
fn markdown_blocks() -> [(&'static str, String); 2] {
    [
        ("options", options_markdown()),
        ("exit-status", exit_status_markdown()),
    ]
}

/// Every option, one table per help heading in the man page's order: the ungrouped (ADDRESS,
/// --help, --version) first.
fn options_markdown() -> String {
    let mut cmd = mqttc::cli::command();
    cmd.build();
    let mut groups: Vec<(Option<&str>, Vec<&clap::Arg>)> = vec![(None, Vec::new())];
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let heading = arg.get_help_heading();
        match groups.iter_mut().find(|(h, _)| *h == heading) {
            Some((_, args)) => args.push(arg),
            None => groups.push((heading, vec![arg])),
        }
    }
    groups[0].1.sort_by_key(|a| !a.is_positional());

    let mut md = String::new();
    for (heading, args) in groups {
        if let Some(heading) = heading {
            md.push_str(&format!("\n### {heading}\n\n"));
        }
        md.push_str("| Option | Description |\n|---|---|\n");
        for arg in args {
            md.push_str(&format!(
                "| `{}` | {} |\n",
                option_names(arg),
                markdown_cell(&option_help(arg))
            ));
        }
    }
    // A blank line ends the table before the closing marker.
    md.push('\n');
    md
}

/// `-p`, `--publish <TOPIC>` (the caller adds the outer backquotes), or `ADDRESS`.
fn option_names(arg: &clap::Arg) -> String {
    let value_names = arg.get_value_names().unwrap_or_default();
    if arg.is_positional() {
        return value_names.join(" ");
    }
    let mut names: Vec<String> = Vec::new();
    names.extend(arg.get_short().map(|c| format!("-{c}")));
    names.extend(arg.get_long().map(|l| format!("--{l}")));
    if arg.get_num_args().is_some_and(|n| n.takes_values()) {
        let last = names.last_mut().expect("an option has a name");
        for value in value_names {
            last.push_str(&format!(" <{value}>"));
        }
    }
    names.join("`, `")
}

/// The short help, with the default value unless clap hides it.
fn option_help(arg: &clap::Arg) -> String {
    let mut help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let takes_values = arg.get_num_args().is_some_and(|n| n.takes_values());
    if takes_values && !arg.is_hide_default_value_set() && !defaults.is_empty() {
        help.push_str(&format!(" (default: `{}`)", defaults.join(",")));
    }
    help
}

fn exit_status_markdown() -> String {
    let mut md = String::from("| Status | Meaning |\n|---:|---|\n");
    for status in Status::ALL {
        md.push_str(&format!(
            "| {} | {} |\n",
            status.code(),
            markdown_cell(&meaning(status))
        ));
    }
    md.push('\n');
    md
}

/// Text for a Markdown table cell: no pipes, HTML or line breaks.
fn markdown_cell(text: &str) -> String {
    text.replace('|', r"\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

/// The Markdown text with its generated blocks replaced by what the definition generates now,
/// and how many blocks it has.
fn with_current_blocks(text: &str, relative: &Path) -> Result<(String, usize), String> {
    let mut text = text.to_owned();
    let mut found = 0;
    for (name, block) in markdown_blocks() {
        let begin = format!("<!-- mqttc-docs:{name} -->\n");
        let end = format!("<!-- /mqttc-docs:{name} -->");
        let Some(at) = text.find(&begin) else {
            continue;
        };
        let start = at + begin.len();
        let stop = text[start..]
            .find(&end)
            .map(|i| start + i)
            .ok_or_else(|| format!("{}: {begin:?} without {end:?}", relative.display()))?;
        text.replace_range(start..stop, &block);
        found += 1;
    }
    Ok((text, found))
}

// ── Comparison with the committed files ─────────────────────────────────────

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn regenerating() -> bool {
    std::env::var_os(REGENERATE).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Compares a generated file with the committed one, or rewrites it under MQTTC_REGENERATE.
fn check_committed(relative: &Path, generated: &str) -> Result<(), String> {
    let path = root().join(relative);
    if regenerating() {
        if fs::read_to_string(&path).ok().as_deref() != Some(generated) {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, generated).unwrap_or_else(|e| panic!("writing {path:?}: {e}"));
            eprintln!("rewrote {}", relative.display());
        }
        return Ok(());
    }
    match fs::read_to_string(&path) {
        Err(e) => Err(format!(
            "{} cannot be read ({e}); {HOW_TO_REGENERATE}",
            relative.display()
        )),
        Ok(committed) if committed == generated => Ok(()),
        Ok(committed) => Err(format!(
            "{} differs from what the clap definition generates ({HOW_TO_REGENERATE}, and \
             commit the result):\n{}",
            relative.display(),
            first_difference(&committed, generated)
        )),
    }
}

/// The first hunk of a line diff (longest common subsequence) of the committed and the
/// generated file: two lines of context, then up to [`SHOWN`] lines, `-` committed and
/// `+` generated, each numbered as in its own file.
fn first_difference(committed: &str, generated: &str) -> String {
    let old: Vec<&str> = committed.lines().collect();
    let new: Vec<&str> = generated.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let (a, b) = (&old[prefix..], &new[prefix..]);

    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }

    let mut diff = String::new();
    for (n, line) in old
        .iter()
        .enumerate()
        .take(prefix)
        .skip(prefix.saturating_sub(2))
    {
        diff.push_str(&format!("{:>5}   {line}\n", n + 1));
    }
    let (mut i, mut j, mut shown, mut equal_run) = (0, 0, 0, 0);
    while (i < a.len() || j < b.len()) && shown < SHOWN && equal_run < 3 {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            diff.push_str(&format!("{:>5}   {}\n", prefix + i + 1, a[i]));
            (i, j, equal_run) = (i + 1, j + 1, equal_run + 1);
            continue;
        }
        if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            diff.push_str(&format!("{:>5} - {}\n", prefix + i + 1, a[i]));
            i += 1;
        } else {
            diff.push_str(&format!("{:>5} + {}\n", prefix + j + 1, b[j]));
            j += 1;
        }
        (shown, equal_run) = (shown + 1, 0);
    }
    if shown == SHOWN {
        diff.push_str("        (more differences follow)\n");
    }
    if committed.ends_with('\n') != generated.ends_with('\n') {
        diff.push_str("        (the files differ in their final line break)\n");
    }
    diff
}

/// How many changed lines a failure shows.
const SHOWN: usize = 12;

#[test]
fn man_page_is_current() {
    if let Err(e) = check_committed(Path::new("man/mqttc.1"), &man_page()) {
        panic!("{e}");
    }
}

#[test]
fn completions_are_current() {
    let failures: Vec<String> = SHELLS
        .into_iter()
        .map(completion)
        .filter_map(|(path, script)| check_committed(&path, &script).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// README.md (and the sections prepared for it) carry generated blocks: the options and the
/// exit statuses. Checked, or rewritten under MQTTC_REGENERATE, like the files above.
#[test]
fn readme_blocks_are_current() {
    let mut failures = Vec::new();
    for relative in ["README.md", "docs/README-sections.md"].map(Path::new) {
        let Ok(text) = fs::read_to_string(root().join(relative)) else {
            continue;
        };
        match with_current_blocks(&text, relative) {
            Err(e) => failures.push(e),
            Ok((_, 0)) => eprintln!(
                "note: {} has no <!-- mqttc-docs:NAME --> blocks to check",
                relative.display()
            ),
            Ok((current, _)) => failures.extend(check_committed(relative, &current).err()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ── The man page's content ──────────────────────────────────────────────────

#[test]
fn examples_come_back_out_of_the_page() {
    let page = man_page();
    let extracted = man_examples(&page);
    let expected: Vec<(String, String)> = EXAMPLES
        .iter()
        .map(|e| (e.what.to_owned(), e.command.to_owned()))
        .collect();
    assert_eq!(extracted, expected);
}

#[test]
fn examples_use_only_existing_options() {
    let cmd = mqttc::cli::command();
    let longs: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
    let shorts: Vec<char> = cmd.get_arguments().filter_map(|a| a.get_short()).collect();
    for example in EXAMPLES {
        // The words after `mqttc` up to the next shell operator.
        for invocation in example.command.split("mqttc ").skip(1) {
            for word in invocation
                .split(' ')
                .take_while(|w| !w.contains(['|', ';', '&']))
            {
                if let Some(long) = word.strip_prefix("--") {
                    assert!(longs.contains(&long), "--{long} in {:?}", example.command);
                } else if let Some(flags) = word.strip_prefix('-').filter(|f| !f.is_empty()) {
                    let c = flags.chars().next().unwrap();
                    assert!(shorts.contains(&c), "-{c} in {:?}", example.command);
                }
            }
        }
        assert!(
            example.command.contains("localhost")
                || example.command.contains("/run/mosquitto/mqtt.sock"),
            "no substitutable broker address in {:?}",
            example.command
        );
    }
}

#[test]
fn every_option_and_exit_status_is_in_the_man_page() {
    let page = man_page();
    for arg in mqttc::cli::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            let roff = format!(r"\fB\-\-{}\fR", long.replace('-', r"\-"));
            assert!(page.contains(&roff), "--{long} is not in the man page");
        }
    }
    let mut cmd = mqttc::cli::command();
    cmd.build();
    for heading in cmd.get_arguments().filter_map(|a| a.get_help_heading()) {
        assert!(
            page.contains(&format!("\n.SS {heading}\n")),
            "no subsection {heading:?} under OPTIONS"
        );
    }
    for status in Status::ALL {
        assert!(
            page.contains(&format!(".TP\n.B {}\n", status.code())),
            "exit status {} is not in the man page",
            status.code()
        );
    }
    for name in [ENV_ADDRESS, ENV_PASSWORD] {
        assert!(page.contains(&format!(".B {name}\n")), "{name}");
    }
}

/// The ENVIRONMENT section names the variable clap reads for ADDRESS.
#[test]
fn address_variable_is_the_documented_one() {
    let cmd = mqttc::cli::command();
    let address = cmd
        .get_positionals()
        .find(|a| a.get_id() == "address")
        .expect("an ADDRESS positional");
    assert_eq!(address.get_env(), Some(std::ffi::OsStr::new(ENV_ADDRESS)));
}

#[test]
fn tidy_wraps_sentences_and_long_lines() {
    let mut out = String::new();
    wrap(
        "First sentence (exit 1). Second one, e.g. this: it is long enough to need a break \
         somewhere after the eightieth byte. third",
        &mut out,
    );
    assert_eq!(
        out,
        "First sentence (exit 1).\n\
         Second one, e.g. this: it is long enough to need a break somewhere after the\n\
         eightieth byte. third\n"
    );
    assert_eq!(esc(".a-b\\c'd"), r"\&.a\-b\ec\*(Aqd");
    assert_eq!(unescape(&esc(".a-b\\c'd")), ".a-b\\c'd");
}

// ── Linters and shells, when installed ──────────────────────────────────────

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn run(program: &Path, args: &[&str], file: &Path) -> Output {
    Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("running {program:?}: {e}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes `content` to a fresh temporary file named `name`: the checks run on what is
/// generated, so they do not race a regeneration of the committed files.
fn temp_file(name: &str, content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, content).unwrap();
    (dir, path)
}

#[test]
fn man_page_lints_clean() {
    let (_dir, page) = temp_file("mqttc.1", &man_page());
    match which("mandoc") {
        None => eprintln!("note: mandoc is not installed; `mandoc -T lint` skipped"),
        Some(mandoc) => {
            // -W style: every message, style suggestions included.
            let out = run(&mandoc, &["-T", "lint", "-W", "style"], &page);
            assert!(
                out.status.success() && text(&out).is_empty(),
                "mandoc -T lint:\n{}",
                text(&out)
            );
        }
    }
    match which("groff") {
        None => eprintln!("note: groff is not installed; `groff -ww -z -man` skipped"),
        Some(groff) => {
            let out = run(&groff, &["-ww", "-z", "-man"], &page);
            assert!(
                out.status.success() && text(&out).is_empty(),
                "groff -ww -z -man:\n{}",
                text(&out)
            );
        }
    }
}

fn script(shell: Shell) -> (tempfile::TempDir, PathBuf) {
    let (path, script) = completion(shell);
    temp_file(path.file_name().unwrap().to_str().unwrap(), &script)
}

/// Completes `line` (which ends where Tab is pressed) with the generated bash script.
fn bash_complete(bash: &Path, file: &Path, words: &[&str]) -> Vec<String> {
    let code = format!(
        "source \"$1\" && COMP_WORDS=({words}) && COMP_CWORD={cword} && \
         COMP_LINE=\"${{COMP_WORDS[*]}}\" && COMP_POINT=${{#COMP_LINE}} && \
         _mqttc mqttc \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\" && \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
    );
    let out = Command::new(bash)
        .args(["--norc", "--noprofile", "-c", &code, "bash"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "bash: {}", text(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completion_loads_and_completes_values() {
    let Some(bash) = which("bash") else {
        eprintln!("note: bash is not installed; bash completion not checked");
        return;
    };
    let (_dir, file) = script(Shell::Bash);
    let out = Command::new(&bash)
        .args([
            "--norc",
            "--noprofile",
            "-c",
            "source \"$1\" && complete -p mqttc",
            "bash",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success() && text(&out).contains("mqttc"),
        "{}",
        text(&out)
    );
    assert_eq!(
        bash_complete(&bash, &file, &["mqttc", "--qos", ""]),
        ["0", "1", "2"]
    );
    assert_eq!(
        bash_complete(&bash, &file, &["mqttc", "--will-qos", ""]),
        ["0", "1", "2"]
    );
    assert_eq!(
        bash_complete(&bash, &file, &["mqttc", "--net", ""]),
        ["tcp", "tcp4", "tcp6", "unix"]
    );
    assert_eq!(
        bash_complete(&bash, &file, &["mqttc", "--mqtt-version", ""]),
        ["3.1.1", "5"]
    );
    assert!(bash_complete(&bash, &file, &["mqttc", "--will-"]).contains(&"--will-qos".into()));
}

/// What fish offers for `line`, without descriptions.
fn fish_complete(fish: &Path, file: &Path, line: &str) -> Vec<String> {
    let out = Command::new(fish)
        .args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"])
        .arg(file)
        .arg(line)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "fish: {}", text(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect()
}

#[test]
fn fish_completion_parses_and_completes_values_and_files() {
    let Some(fish) = which("fish") else {
        eprintln!("note: fish is not installed; fish completion not checked");
        return;
    };
    let (_dir, file) = script(Shell::Fish);
    let out = run(&fish, &["--no-config", "-n"], &file);
    assert!(
        out.status.success() && text(&out).is_empty(),
        "{}",
        text(&out)
    );
    assert_eq!(fish_complete(&fish, &file, "mqttc --qos "), ["0", "1", "2"]);
    assert_eq!(
        fish_complete(&fish, &file, "mqttc --will-qos "),
        ["0", "1", "2"]
    );
    assert_eq!(
        fish_complete(&fish, &file, "mqttc --net "),
        ["tcp", "tcp4", "tcp6", "unix"]
    );
    assert_eq!(
        fish_complete(&fish, &file, "mqttc --mqtt-version "),
        ["3.1.1", "5"]
    );
    // File options complete to files (the crate root holds Cargo.toml); text options do not.
    assert!(fish_complete(&fish, &file, "mqttc --ca Cargo.").contains(&"Cargo.toml".into()));
    assert!(fish_complete(&fish, &file, "mqttc --pass Cargo.").contains(&"Cargo.toml".into()));
    assert!(fish_complete(&fish, &file, "mqttc -p Cargo.").is_empty());
}

#[test]
fn zsh_completion_parses() {
    let Some(zsh) = which("zsh") else {
        eprintln!("note: zsh is not installed; zsh completion not checked");
        return;
    };
    let (_dir, file) = script(Shell::Zsh);
    let out = run(&zsh, &["-n"], &file);
    assert!(
        out.status.success() && text(&out).is_empty(),
        "{}",
        text(&out)
    );
}

#[test]
fn elvish_completion_compiles() {
    let Some(elvish) = which("elvish") else {
        eprintln!("note: elvish is not installed; elvish completion not checked");
        return;
    };
    let (_dir, file) = script(Shell::Elvish);
    // Outside an interactive shell the edit: module does not exist, so compiling stops at
    // the first use of it; any other error (a parse error above all) fails the test.
    let out = run(&elvish, &["-norc", "-compileonly", "-json"], &file);
    let report = text(&out);
    let errors = report.matches("\"message\":").count();
    let edit_module = report
        .matches("\"message\":\"cannot find variable $edit:")
        .count()
        + report
            .matches("\"message\":\"cannot find command edit:")
            .count();
    assert_eq!(errors, edit_module, "elvish -compileonly:\n{report}");
}

// ── --help and --version ────────────────────────────────────────────────────

fn mqttc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqttc"))
        .args(args)
        .env_remove("COLUMNS")
        .env_remove(ENV_ADDRESS)
        .env_remove(ENV_PASSWORD)
        .output()
        .expect("running mqttc")
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn help_lists_every_exit_status() {
    for flag in ["--help", "-h"] {
        let out = mqttc(&[flag]);
        assert!(out.status.success(), "{flag}: {}", text(&out));
        let help = String::from_utf8(out.stdout).unwrap();
        let (_, statuses) = help
            .split_once("Exit status:\n")
            .unwrap_or_else(|| panic!("no exit statuses in {flag}:\n{help}"));
        // Compared word by word: clap may wrap a long meaning.
        let statuses = words(statuses);
        for status in Status::ALL {
            let line = words(&format!("{} {}", status.code(), status.meaning()));
            assert!(statuses.contains(&line), "{flag} lacks {line:?}:\n{help}");
        }
        assert!(help.contains("Examples:\n  "), "{flag}:\n{help}");
    }
}

#[test]
fn version_prints_name_and_version() {
    let out = mqttc(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        concat!("mqttc ", env!("CARGO_PKG_VERSION"), "\n")
    );
}
