//! Client-side validation of MQTT topic names and topic filters (MQTT 3.1.1
//! and MQTT 5, section 4.7), so a bad `-t` argument is reported before
//! connecting instead of as a broker disconnect.

/// The MQTT UTF-8 string length prefix is a u16, hence the byte limit.
const MAX_TOPIC_BYTES: usize = 65_535;

/// Topics longer than this many characters are abbreviated in messages so a
/// huge argument does not flood the terminal.
const QUOTE_LIMIT_CHARS: usize = 200;
const QUOTE_HEAD_CHARS: usize = 40;

/// A topic name to publish to.
pub fn check_topic(s: &str) -> Result<(), String> {
    check(s, false)
}

/// A topic filter to subscribe with.
pub fn check_filter(s: &str) -> Result<(), String> {
    check(s, true)
}

fn check(s: &str, filter: bool) -> Result<(), String> {
    let fail = |why: &str| {
        let kind = if filter { "topic filter" } else { "topic" };
        Err(format!("invalid {kind} {}: {why}", quote(s)))
    };

    if s.is_empty() {
        return fail("empty");
    }
    if s.len() > MAX_TOPIC_BYTES {
        return fail("longer than 65535 bytes");
    }
    if s.contains('\0') {
        return fail("contains a NUL character");
    }
    // MQTT says topics SHOULD NOT hold control characters, and brokers such as mosquitto
    // drop the connection over them: refuse them here, with a clear message, instead.
    if s.chars().any(char::is_control) {
        return fail("contains a control character");
    }
    if !filter {
        if s.contains(['+', '#']) {
            return fail("wildcards + and # are not allowed in a topic name");
        }
        return Ok(());
    }

    let mut levels = s.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') {
            if level != "#" {
                return fail("# must be a whole level, like a/#");
            }
            if levels.peek().is_some() {
                return fail("# must be the last level");
            }
        }
        if level.contains('+') && level != "+" {
            return fail("+ must be a whole level, like a/+/b");
        }
    }
    Ok(())
}

fn quote(s: &str) -> String {
    if s.chars().count() <= QUOTE_LIMIT_CHARS {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(QUOTE_HEAD_CHARS).collect();
    format!("{head:?}... ({} bytes)", s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_in_both() {
        let cases = [
            "a",
            "a/b/c",
            "/",
            "//",
            "a/",
            "/a",
            "a//b",
            "$SYS/broker/uptime",
            "sensors/température/°C",
            "with space/and-dash_und.punkt",
            "\u{1F600}",
        ];
        for input in cases {
            assert_eq!(check_topic(input), Ok(()), "topic {input:?}");
            assert_eq!(check_filter(input), Ok(()), "filter {input:?}");
        }
    }

    #[test]
    fn valid_filters_only() {
        let cases = [
            "#",
            "a/#",
            "/#",
            "a//#",
            "+",
            "+/+",
            "/+",
            "+/",
            "a/+/b",
            "+/#",
            "+/+/#",
            "$SYS/#",
            "$share/group/a/+",
        ];
        for input in cases {
            assert_eq!(check_filter(input), Ok(()), "filter {input:?}");
            assert_eq!(
                check_topic(input),
                Err(format!(
                    "invalid topic {input:?}: wildcards + and # are not allowed in a topic name"
                )),
                "topic {input:?}"
            );
        }
    }

    #[test]
    fn invalid_topics() {
        let cases = [
            ("", r##"invalid topic "": empty"##),
            (
                "a\0b",
                r##"invalid topic "a\0b": contains a NUL character"##,
            ),
            ("\0", r##"invalid topic "\0": contains a NUL character"##),
            (
                "a\tb",
                r##"invalid topic "a\tb": contains a control character"##,
            ),
            (
                "a\u{85}b",
                r##"invalid topic "a\u{85}b": contains a control character"##,
            ),
            (
                "a/+",
                r##"invalid topic "a/+": wildcards + and # are not allowed in a topic name"##,
            ),
            (
                "a/#",
                r##"invalid topic "a/#": wildcards + and # are not allowed in a topic name"##,
            ),
            (
                "price+tax",
                r##"invalid topic "price+tax": wildcards + and # are not allowed in a topic name"##,
            ),
            (
                "room#1",
                r##"invalid topic "room#1": wildcards + and # are not allowed in a topic name"##,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(check_topic(input), Err(want.to_string()), "{input:?}");
        }
    }

    #[test]
    fn invalid_filters() {
        let cases = [
            ("", r##"invalid topic filter "": empty"##),
            (
                "a\0b",
                r##"invalid topic filter "a\0b": contains a NUL character"##,
            ),
            (
                "a/#/b",
                r##"invalid topic filter "a/#/b": # must be the last level"##,
            ),
            (
                "#/",
                r##"invalid topic filter "#/": # must be the last level"##,
            ),
            (
                "#/#",
                r##"invalid topic filter "#/#": # must be the last level"##,
            ),
            (
                "a/b#",
                r##"invalid topic filter "a/b#": # must be a whole level, like a/#"##,
            ),
            (
                "#a",
                r##"invalid topic filter "#a": # must be a whole level, like a/#"##,
            ),
            (
                "##",
                r###"invalid topic filter "##": # must be a whole level, like a/#"###,
            ),
            (
                "+#",
                r##"invalid topic filter "+#": # must be a whole level, like a/#"##,
            ),
            (
                "+x",
                r##"invalid topic filter "+x": + must be a whole level, like a/+/b"##,
            ),
            (
                "a+",
                r##"invalid topic filter "a+": + must be a whole level, like a/+/b"##,
            ),
            (
                "a/b+/c",
                r##"invalid topic filter "a/b+/c": + must be a whole level, like a/+/b"##,
            ),
            (
                "++",
                r##"invalid topic filter "++": + must be a whole level, like a/+/b"##,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(check_filter(input), Err(want.to_string()), "{input:?}");
        }
    }

    #[test]
    fn length_boundary() {
        let a40 = format!("{:?}", "a".repeat(40));
        let e40 = format!("{:?}", "é".repeat(40));
        let cases = [
            ("a".repeat(65_535), Ok(())),
            (
                "a".repeat(65_536),
                Err(format!("{a40}... (65536 bytes): longer than 65535 bytes")),
            ),
            // The limit counts UTF-8 bytes, not characters.
            ("é".repeat(32_767) + "a", Ok(())),
            (
                "é".repeat(32_767) + "aa",
                Err(format!("{e40}... (65536 bytes): longer than 65535 bytes")),
            ),
        ];
        for (input, want) in cases {
            let len = input.len();
            let topic = want.clone().map_err(|e| format!("invalid topic {e}"));
            let filter = want.map_err(|e| format!("invalid topic filter {e}"));
            assert_eq!(check_topic(&input), topic, "{len} bytes");
            assert_eq!(check_filter(&input), filter, "{len} bytes");
        }
        assert_eq!(check_filter(&format!("{}#", "a/".repeat(32_767))), Ok(()));
        assert_eq!(
            check_filter(&format!("{}#", "a/".repeat(32_768))),
            Err(format!(
                "invalid topic filter {:?}... (65537 bytes): longer than 65535 bytes",
                "a/".repeat(20)
            ))
        );
    }

    #[test]
    fn quoting_abbreviates_only_long_topics() {
        let wild = "wildcards + and # are not allowed in a topic name";
        let cases = [
            (
                "x".repeat(199) + "+",
                format!("invalid topic {:?}: {wild}", "x".repeat(199) + "+"),
            ),
            (
                "x".repeat(200) + "+",
                format!("invalid topic {:?}... (201 bytes): {wild}", "x".repeat(40)),
            ),
            (
                "ü".repeat(200) + "#",
                format!("invalid topic {:?}... (401 bytes): {wild}", "ü".repeat(40)),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(check_topic(&input), Err(want), "{} bytes", input.len());
        }
    }
}
