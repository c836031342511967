//! Printing of inbound MQTT messages: the Go-compatible text format
//! ([`TextFormat`], [`go_quote`]) and JSON lines ([`write_json`]).
//!
//! Every function writes into an `impl Write` instead of returning a
//! `String`, for two reasons. The subscriber prints 150,000+ messages per
//! second, so the hot path must not allocate per message: bytes go straight
//! into the caller's (buffered) writer and only fixed-size stack buffers are
//! used. And all output is unit-testable byte for byte by writing into a
//! `Vec<u8>`, with no terminal or process involved.

use std::io::{self, Write};

use rumqttc::v5::mqttbytes::v5::PublishProperties;
use std::time::{SystemTime, UNIX_EPOCH};

use unicode_general_category::{get_general_category, GeneralCategory};

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// How inbound messages are printed for people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextFormat {
    /// Written before the payload (after the topic when `topic` is set).
    pub prefix: Vec<u8>,
    /// Written after the payload. The CLI default is `b"\n"`; `Default`
    /// leaves it empty so that the caller states it explicitly.
    pub suffix: Vec<u8>,
    /// Print the topic name in front of the prefix.
    pub topic: bool,
    /// Print topic and payload as Go string literals (`%q`).
    pub quote: bool,
}

impl TextFormat {
    /// Writes one message exactly like the Go `mqttc` does with
    /// `fmt.Printf`; raw bytes are passed through unchanged because payloads
    /// may be binary.
    pub fn write<W: Write>(&self, w: &mut W, topic: &[u8], payload: &[u8]) -> io::Result<()> {
        match (self.topic, self.quote) {
            // %q%s%q%s
            (true, true) => {
                go_quote(w, topic)?;
                w.write_all(&self.prefix)?;
                go_quote(w, payload)?;
            }
            // %s%s%s%s
            (true, false) => {
                w.write_all(topic)?;
                w.write_all(&self.prefix)?;
                w.write_all(payload)?;
            }
            // %s%q%s
            (false, true) => {
                w.write_all(&self.prefix)?;
                go_quote(w, payload)?;
            }
            // %s%s%s
            (false, false) => {
                w.write_all(&self.prefix)?;
                w.write_all(payload)?;
            }
        }
        w.write_all(&self.suffix)
    }
}

/// Writes `s` as Go's `strconv.Quote` does, which is what `%q` does to a
/// byte slice, so that quoted output is byte-exact with the Go `mqttc`.
pub fn go_quote<W: Write>(w: &mut W, s: &[u8]) -> io::Result<()> {
    // Go's quoting depends on unicode.IsPrint, which is defined by Unicode
    // general category; std does not expose general categories, hence the
    // unicode-general-category dependency (see `go_is_print`).
    w.write_all(b"\"")?;
    for chunk in s.utf8_chunks() {
        quote_valid(w, chunk.valid())?;
        // Go's utf8.DecodeRune yields (RuneError, 1) for every byte of a
        // maximal invalid subpart: the lead byte fails, and each following
        // byte is a lone continuation byte that fails again. Rust resumes
        // decoding at the same position Go does, so escaping each byte of
        // the invalid chunk is exactly Go's behaviour (truncated sequences,
        // overlong encodings and surrogates included).
        for &b in chunk.invalid() {
            w.write_all(&hex_escape(b))?;
        }
    }
    w.write_all(b"\"")
}

/// Quotes well-formed UTF-8, writing runs of printable text with a single
/// `write_all` so that typical payloads cost a few calls, not one per byte.
fn quote_valid<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    let bytes = s.as_bytes();
    let mut run = 0; // start of the pending printable run
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            // Printable ASCII needs no table lookup.
            if (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\' {
                i += 1;
                continue;
            }
            if run < i {
                w.write_all(&bytes[run..i])?;
            }
            write_ascii_escape(w, b)?;
            i += 1;
            run = i;
            continue;
        }

        // `i` always sits on a char boundary: it only advances by whole
        // characters.
        let c = s[i..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
        let n = c.len_utf8();
        if go_is_print(c) {
            i += n;
            continue;
        }
        if run < i {
            w.write_all(&bytes[run..i])?;
        }
        write_unicode_escape(w, c)?;
        i += n;
        run = i;
    }
    if run < bytes.len() {
        w.write_all(&bytes[run..])?;
    }
    Ok(())
}

/// Go's `unicode.IsPrint` for non-ASCII characters: letters, marks, numbers,
/// punctuation and symbols. Only U+0020 counts among spaces and it is ASCII,
/// so every non-ASCII space, control, format, private-use, surrogate and
/// unassigned character is not printable.
fn go_is_print(c: char) -> bool {
    use GeneralCategory::*;
    // The enum is non_exhaustive, so categories are listed positively and
    // anything new defaults to "not printable", like Go's Cn.
    matches!(
        get_general_category(c),
        UppercaseLetter
            | LowercaseLetter
            | TitlecaseLetter
            | ModifierLetter
            | OtherLetter
            | NonspacingMark
            | SpacingMark
            | EnclosingMark
            | DecimalNumber
            | LetterNumber
            | OtherNumber
            | ConnectorPunctuation
            | DashPunctuation
            | OpenPunctuation
            | ClosePunctuation
            | InitialPunctuation
            | FinalPunctuation
            | OtherPunctuation
            | MathSymbol
            | CurrencySymbol
            | ModifierSymbol
            | OtherSymbol
    )
}

/// `\xNN`, as Go writes invalid bytes and ASCII controls.
fn hex_escape(b: u8) -> [u8; 4] {
    [
        b'\\',
        b'x',
        HEX_LOWER[usize::from(b >> 4)],
        HEX_LOWER[usize::from(b & 0xf)],
    ]
}

/// Escapes an ASCII byte that is not printed as is.
fn write_ascii_escape<W: Write>(w: &mut W, b: u8) -> io::Result<()> {
    let short: &[u8; 2] = match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        0x07 => b"\\a",
        0x08 => b"\\b",
        0x0c => b"\\f",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        0x0b => b"\\v",
        // Remaining controls below ' ' and DEL.
        _ => return w.write_all(&hex_escape(b)),
    };
    w.write_all(short)
}

/// Escapes a non-printable, non-ASCII character as `\uXXXX` or `\UXXXXXXXX`.
fn write_unicode_escape<W: Write>(w: &mut W, c: char) -> io::Result<()> {
    let r = u32::from(c);
    let mut buf = [0u8; 10];
    let digits = if r < 0x1_0000 { 4 } else { 8 };
    buf[0] = b'\\';
    buf[1] = if digits == 4 { b'u' } else { b'U' };
    for k in 0..digits {
        let shift = 4 * (digits - 1 - k);
        buf[2 + k] = HEX_LOWER[((r >> shift) & 0xf) as usize];
    }
    w.write_all(&buf[..2 + digits])
}

/// One inbound message as printed by `--output json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonMessage<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: u8,
    pub retain: bool,
    pub received: SystemTime,
    /// MQTT 5 publish properties, printed as an object when present.
    pub properties: Option<&'a PublishProperties>,
}

/// Writes `m` as one JSON object followed by `\n` (JSON Lines). Fields come
/// in a fixed order: topic, payload or payload_base64, qos, retain, received.
///
/// A UTF-8 payload is a JSON string under `payload`; anything else is
/// standard, padded base64 under `payload_base64`, since JSON strings cannot
/// carry arbitrary bytes.
pub fn write_json<W: Write>(w: &mut W, m: &JsonMessage<'_>) -> io::Result<()> {
    w.write_all(b"{\"topic\":")?;
    write_json_string(w, m.topic)?;
    match std::str::from_utf8(m.payload) {
        Ok(text) => {
            w.write_all(b",\"payload\":")?;
            write_json_string(w, text)?;
        }
        Err(_) => {
            w.write_all(b",\"payload_base64\":\"")?;
            base64_encode(w, m.payload)?;
            w.write_all(b"\"")?;
        }
    }
    w.write_all(b",\"qos\":")?;
    write_u8_decimal(w, m.qos)?;
    w.write_all(if m.retain {
        b",\"retain\":true,\"received\":\""
    } else {
        b",\"retain\":false,\"received\":\""
    })?;
    let mut stamp = [0u8; RFC3339_LEN];
    w.write_all(rfc3339_utc(m.received, &mut stamp).as_bytes())?;
    w.write_all(b"\"")?;
    if let Some(p) = m.properties {
        write_json_properties(w, p)?;
    }
    w.write_all(b"}\n")
}

/// `,"properties":{...}` with the fields that are present. User properties are a list of
/// `[key, value]` pairs, since MQTT allows a key more than once and keeps their order;
/// correlation data is binary, so it is base64.
fn write_json_properties<W: Write>(w: &mut W, p: &PublishProperties) -> io::Result<()> {
    w.write_all(b",\"properties\":{")?;
    let mut sep: &[u8] = b"";
    let mut key = |w: &mut W, name: &str| -> io::Result<()> {
        w.write_all(sep)?;
        sep = b",";
        write_json_string(w, name)?;
        w.write_all(b":")
    };
    if let Some(v) = p.payload_format_indicator {
        key(w, "payload_format_indicator")?;
        write!(w, "{v}")?;
    }
    if let Some(v) = p.message_expiry_interval {
        key(w, "message_expiry_interval")?;
        write!(w, "{v}")?;
    }
    if let Some(v) = &p.content_type {
        key(w, "content_type")?;
        write_json_string(w, v)?;
    }
    if let Some(v) = &p.response_topic {
        key(w, "response_topic")?;
        write_json_string(w, v)?;
    }
    if let Some(v) = &p.correlation_data {
        key(w, "correlation_data")?;
        w.write_all(b"\"")?;
        base64_encode(w, v)?;
        w.write_all(b"\"")?;
    }
    if !p.user_properties.is_empty() {
        key(w, "user_properties")?;
        w.write_all(b"[")?;
        for (i, (k, v)) in p.user_properties.iter().enumerate() {
            w.write_all(if i == 0 { b"[" } else { b",[" })?;
            write_json_string(w, k)?;
            w.write_all(b",")?;
            write_json_string(w, v)?;
            w.write_all(b"]")?;
        }
        w.write_all(b"]")?;
    }
    if !p.subscription_identifiers.is_empty() {
        key(w, "subscription_identifiers")?;
        w.write_all(b"[")?;
        for (i, id) in p.subscription_identifiers.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            write!(w, "{id}")?;
        }
        w.write_all(b"]")?;
    }
    w.write_all(b"}")
}

/// Writes `s` as a JSON string literal (RFC 8259), quotes included. Only
/// `"`, `\` and controls below U+0020 are escaped; everything else, non-ASCII
/// included, is written as is because JSON text is UTF-8 anyway.
pub fn write_json_string<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    let bytes = s.as_bytes();
    w.write_all(b"\"")?;
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        if run < i {
            w.write_all(&bytes[run..i])?;
        }
        if short.is_empty() {
            w.write_all(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_LOWER[usize::from(b >> 4)],
                HEX_LOWER[usize::from(b & 0xf)],
            ])?;
        } else {
            w.write_all(short)?;
        }
        run = i + 1;
    }
    if run < bytes.len() {
        w.write_all(&bytes[run..])?;
    }
    w.write_all(b"\"")
}

fn write_u8_decimal<W: Write>(w: &mut W, n: u8) -> io::Result<()> {
    let digits = [b'0' + n / 100, b'0' + n / 10 % 10, b'0' + n % 10];
    let skip = if n >= 100 {
        0
    } else if n >= 10 {
        1
    } else {
        2
    };
    w.write_all(&digits[skip..])
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Writes `bytes` as standard base64 (RFC 4648 section 4) with `=` padding
/// and no line breaks. Encodes through a stack buffer so that any payload
/// size costs no heap allocation.
pub fn base64_encode<W: Write>(w: &mut W, bytes: &[u8]) -> io::Result<()> {
    // A multiple of 3 input bytes, so only the final chunk needs padding.
    const IN_CHUNK: usize = 768;
    let mut buf = [0u8; IN_CHUNK / 3 * 4];
    for chunk in bytes.chunks(IN_CHUNK) {
        let mut n = 0;
        let mut triples = chunk.chunks_exact(3);
        for t in &mut triples {
            let v = u32::from(t[0]) << 16 | u32::from(t[1]) << 8 | u32::from(t[2]);
            buf[n] = BASE64_ALPHABET[(v >> 18) as usize & 63];
            buf[n + 1] = BASE64_ALPHABET[(v >> 12) as usize & 63];
            buf[n + 2] = BASE64_ALPHABET[(v >> 6) as usize & 63];
            buf[n + 3] = BASE64_ALPHABET[v as usize & 63];
            n += 4;
        }
        match *triples.remainder() {
            [a] => {
                let v = u32::from(a) << 16;
                buf[n] = BASE64_ALPHABET[(v >> 18) as usize & 63];
                buf[n + 1] = BASE64_ALPHABET[(v >> 12) as usize & 63];
                buf[n + 2] = b'=';
                buf[n + 3] = b'=';
                n += 4;
            }
            [a, b] => {
                let v = u32::from(a) << 16 | u32::from(b) << 8;
                buf[n] = BASE64_ALPHABET[(v >> 18) as usize & 63];
                buf[n + 1] = BASE64_ALPHABET[(v >> 12) as usize & 63];
                buf[n + 2] = BASE64_ALPHABET[(v >> 6) as usize & 63];
                buf[n + 3] = b'=';
                n += 4;
            }
            _ => {}
        }
        w.write_all(&buf[..n])?;
    }
    Ok(())
}

/// Length of `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub const RFC3339_LEN: usize = 27;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range a four-digit
/// year can show.
const MIN_UNIX_SECS: i64 = -62_167_219_200;
const MAX_UNIX_SECS: i64 = 253_402_300_799;

/// Formats `t` as RFC 3339 UTC with microseconds, e.g.
/// `2025-11-25T04:05:06.123456Z`, into `out` and returns it as text.
///
/// Sub-microsecond digits are truncated (rounded toward the past), so a
/// timestamp never shows a time later than the event. Times outside years
/// 0000..=9999 are clamped to that range, as the format has four year digits.
pub fn rfc3339_utc(t: SystemTime, out: &mut [u8; RFC3339_LEN]) -> &str {
    let (secs, micros) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_micros(),
        ),
        Err(e) => {
            // Before the epoch: floor to whole microseconds, then split so
            // the fraction stays non-negative.
            let before = i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX);
            let micros = -before.div_euclid(1000) - i128::from(before % 1000 != 0);
            (
                i64::try_from(micros.div_euclid(1_000_000)).unwrap_or(i64::MIN),
                micros.rem_euclid(1_000_000) as u32,
            )
        }
    };
    let (secs, micros) = if secs < MIN_UNIX_SECS {
        (MIN_UNIX_SECS, 0)
    } else if secs > MAX_UNIX_SECS {
        (MAX_UNIX_SECS, 999_999)
    } else {
        (secs, micros)
    };

    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);

    put_digits(&mut out[0..4], year as u32);
    out[4] = b'-';
    put_digits(&mut out[5..7], month);
    out[7] = b'-';
    put_digits(&mut out[8..10], day);
    out[10] = b'T';
    put_digits(&mut out[11..13], sod / 3600);
    out[13] = b':';
    put_digits(&mut out[14..16], sod / 60 % 60);
    out[16] = b':';
    put_digits(&mut out[17..19], sod % 60);
    out[19] = b'.';
    put_digits(&mut out[20..26], micros);
    out[26] = b'Z';
    // Every byte above is an ASCII digit or separator.
    std::str::from_utf8(out).unwrap_or("")
}

/// Fills `dst` with the low `dst.len()` decimal digits of `n`, zero-padded.
fn put_digits(dst: &mut [u8], mut n: u32) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Proleptic Gregorian (year, month, day) of a count of days since
/// 1970-01-01, after Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html>), which avoids a
/// date crate for one conversion.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn quoted(s: &[u8]) -> String {
        let mut out = Vec::new();
        go_quote(&mut out, s).unwrap();
        String::from_utf8(out).expect("go_quote output is UTF-8")
    }

    fn text(f: &TextFormat, topic: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        f.write(&mut out, topic, payload).unwrap();
        out
    }

    fn format(topic: bool, quote: bool) -> TextFormat {
        TextFormat {
            prefix: b"<<".to_vec(),
            suffix: b">>\n".to_vec(),
            topic,
            quote,
        }
    }

    // --- text format ---

    #[test]
    fn text_default_mode() {
        let f = format(false, false);
        assert_eq!(text(&f, b"a/b", b"hi\n\xff"), b"<<hi\n\xff>>\n");
    }

    #[test]
    fn text_topic_mode() {
        let f = format(true, false);
        assert_eq!(text(&f, b"a/b", b"hi\"\xff"), b"a/b<<hi\"\xff>>\n");
    }

    #[test]
    fn text_quote_mode() {
        let f = format(false, true);
        assert_eq!(text(&f, b"a/b", b"hi\n\xff"), b"<<\"hi\\n\\xff\">>\n");
    }

    #[test]
    fn text_topic_quote_mode() {
        let f = format(true, true);
        assert_eq!(
            text(&f, b"a/\"b\"", b"x\ty"),
            b"\"a/\\\"b\\\"\"<<\"x\\ty\">>\n"
        );
    }

    #[test]
    fn text_default_struct_writes_payload_only() {
        let f = TextFormat::default();
        assert_eq!(text(&f, b"t", b"p"), b"p");
        let cli = TextFormat {
            suffix: b"\n".to_vec(),
            ..TextFormat::default()
        };
        assert_eq!(text(&cli, b"t", b""), b"\n");
    }

    // --- go_quote ---

    #[test]
    fn quote_empty_and_plain() {
        assert_eq!(quoted(b""), r#""""#);
        assert_eq!(quoted(b"Hello, World! ~{}[]"), r#""Hello, World! ~{}[]""#);
    }

    #[test]
    fn quote_quote_and_backslash() {
        assert_eq!(quoted(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quoted(b"'"), r#""'""#);
    }

    #[test]
    fn quote_short_escapes() {
        assert_eq!(quoted(b"\x07\x08\x0c\n\r\t\x0b"), r#""\a\b\f\n\r\t\v""#);
    }

    #[test]
    fn quote_hex_controls() {
        assert_eq!(quoted(b"\x00"), r#""\x00""#);
        assert_eq!(quoted(b"\x1f"), r#""\x1f""#);
        assert_eq!(quoted(b"\x7f"), r#""\x7f""#);
        assert_eq!(quoted(b"\x1b[0m"), r#""\x1b[0m""#);
    }

    #[test]
    fn quote_invalid_bytes() {
        assert_eq!(quoted(b"\x80"), r#""\x80""#);
        assert_eq!(quoted(b"\xff"), r#""\xff""#);
        assert_eq!(quoted(b"a\xfeb"), r#""a\xfeb""#);
    }

    #[test]
    fn quote_truncated_sequence() {
        assert_eq!(quoted(b"\xe2\x82"), r#""\xe2\x82""#);
        assert_eq!(quoted(b"\xe2\x82x"), r#""\xe2\x82x""#);
        assert_eq!(quoted(b"\xf0\x9f\x98"), r#""\xf0\x9f\x98""#);
    }

    #[test]
    fn quote_overlong_and_surrogate() {
        assert_eq!(quoted(b"\xc0\x80"), r#""\xc0\x80""#);
        assert_eq!(quoted(b"\xe0\x80\xaf"), r#""\xe0\x80\xaf""#);
        assert_eq!(quoted(b"\xed\xa0\x80"), r#""\xed\xa0\x80""#);
        // Beyond U+10FFFF.
        assert_eq!(quoted(b"\xf4\x90\x80\x80"), r#""\xf4\x90\x80\x80""#);
    }

    #[test]
    fn quote_printable_unicode_kept() {
        assert_eq!(quoted("héllo".as_bytes()), "\"héllo\"");
        assert_eq!(quoted("日本".as_bytes()), "\"日本\"");
        assert_eq!(quoted("\u{1F600}".as_bytes()), "\"\u{1F600}\"");
        // A correctly encoded U+FFFD is a printable symbol, unlike an
        // invalid byte.
        assert_eq!(quoted(b"\xef\xbf\xbd"), "\"\u{FFFD}\"");
        // Combining mark (Mn).
        assert_eq!(quoted("e\u{301}".as_bytes()), "\"e\u{301}\"");
    }

    #[test]
    fn quote_non_printable_unicode() {
        assert_eq!(quoted("\u{a0}".as_bytes()), r#""\u00a0""#);
        assert_eq!(quoted("\u{3000}".as_bytes()), r#""\u3000""#);
        assert_eq!(quoted("\u{ad}".as_bytes()), r#""\u00ad""#);
        assert_eq!(quoted("\u{200b}".as_bytes()), r#""\u200b""#);
        assert_eq!(quoted("\u{feff}".as_bytes()), r#""\ufeff""#);
        assert_eq!(quoted("\u{e000}".as_bytes()), r#""\ue000""#);
        assert_eq!(quoted("\u{10ffff}".as_bytes()), r#""\U0010ffff""#);
        assert_eq!(quoted("\u{85}".as_bytes()), r#""\u0085""#);
        assert_eq!(quoted("\u{2028}".as_bytes()), r#""\u2028""#);
        assert_eq!(quoted("\u{2029}".as_bytes()), r#""\u2029""#);
        // Unassigned (Cn) in the supplementary planes.
        assert_eq!(quoted("\u{e0080}".as_bytes()), r#""\U000e0080""#);
    }

    #[test]
    fn quote_known_go_outputs() {
        assert_eq!(
            quoted("\x00\u{00ff}".as_bytes()),
            "\"\\x00\u{ff}\"",
            "U+00FF is a letter, unlike the byte 0xff"
        );
        let mut input = b"\x00\xff".to_vec();
        input.extend_from_slice("\u{a0}é\u{1F600}".as_bytes());
        assert_eq!(quoted(&input), "\"\\x00\\xff\\u00a0é\u{1F600}\"");
    }

    /// Straight port of Go's utf8.DecodeRune + strconv.appendQuotedWith,
    /// byte by byte, to cross-check the chunked fast path.
    fn reference_quote(s: &[u8]) -> Vec<u8> {
        fn decode(s: &[u8]) -> (Option<char>, usize) {
            let b0 = s[0];
            let (n, lo, hi) = match b0 {
                0x00..=0x7f => return (Some(char::from(b0)), 1),
                0xc2..=0xdf => (2, 0x80, 0xbf),
                0xe0 => (3, 0xa0, 0xbf),
                0xed => (3, 0x80, 0x9f),
                0xe1..=0xef => (3, 0x80, 0xbf),
                0xf0 => (4, 0x90, 0xbf),
                0xf4 => (4, 0x80, 0x8f),
                0xf1..=0xf3 => (4, 0x80, 0xbf),
                _ => return (None, 1),
            };
            if s.len() < n || !(lo..=hi).contains(&s[1]) {
                return (None, 1);
            }
            if s[2..n].iter().any(|&b| !(0x80..=0xbf).contains(&b)) {
                return (None, 1);
            }
            let c = std::str::from_utf8(&s[..n]).unwrap().chars().next();
            (c, n)
        }
        let mut out = b"\"".to_vec();
        let mut i = 0;
        while i < s.len() {
            let (r, n) = decode(&s[i..]);
            let Some(c) = r else {
                out.extend_from_slice(&hex_escape(s[i]));
                i += 1;
                continue;
            };
            let r = u32::from(c);
            let printable = if c.is_ascii() {
                (0x20..0x7f).contains(&r)
            } else {
                go_is_print(c)
            };
            if c == '"' || c == '\\' {
                out.push(b'\\');
                out.push(c as u8);
            } else if printable {
                out.extend_from_slice(&s[i..i + n]);
            } else {
                let e = match c {
                    '\x07' => "\\a".to_string(),
                    '\x08' => "\\b".to_string(),
                    '\x0c' => "\\f".to_string(),
                    '\n' => "\\n".to_string(),
                    '\r' => "\\r".to_string(),
                    '\t' => "\\t".to_string(),
                    '\x0b' => "\\v".to_string(),
                    _ if r < 0x20 || r == 0x7f => format!("\\x{r:02x}"),
                    _ if r < 0x10000 => format!("\\u{r:04x}"),
                    _ => format!("\\U{r:08x}"),
                };
                out.extend_from_slice(e.as_bytes());
            }
            i += n;
        }
        out.push(b'"');
        out
    }

    #[test]
    fn quote_matches_reference_on_random_bytes() {
        // xorshift64: deterministic, no dependency.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Biased toward UTF-8 lead and continuation bytes to hit edge cases.
        const INTERESTING: &[u8] = b"\x00\x07\x1f\x20\"\\\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xe1\xed\xee\xef\xf0\xf1\xf4\xf5\xffa";
        let mut input = Vec::new();
        for _ in 0..20_000 {
            input.clear();
            let len = (next() % 12) as usize;
            for _ in 0..len {
                let r = next();
                input.push(if r & 1 == 0 {
                    INTERESTING[(r >> 8) as usize % INTERESTING.len()]
                } else {
                    (r >> 8) as u8
                });
            }
            let mut got = Vec::new();
            go_quote(&mut got, &input).unwrap();
            assert_eq!(got, reference_quote(&input), "input {input:02x?}");
        }
        // Every valid scalar value, in blocks, against the reference.
        let mut block = String::new();
        for r in 0..=0x10ffff_u32 {
            if let Some(c) = char::from_u32(r) {
                block.push(c);
            }
            if block.len() >= 4096 || r == 0x10ffff {
                let mut got = Vec::new();
                go_quote(&mut got, block.as_bytes()).unwrap();
                assert_eq!(got, reference_quote(block.as_bytes()), "near U+{r:X}");
                block.clear();
            }
        }
    }

    // --- JSON ---

    fn json(m: &JsonMessage<'_>) -> String {
        let mut out = Vec::new();
        write_json(&mut out, m).unwrap();
        String::from_utf8(out).expect("JSON output is UTF-8")
    }

    fn at(secs: u64, micros: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, micros * 1000)
    }

    #[test]
    fn json_mqtt5_properties() {
        let props = PublishProperties {
            payload_format_indicator: Some(1),
            message_expiry_interval: Some(60),
            topic_alias: None,
            response_topic: Some("re/ply".into()),
            correlation_data: Some(bytes::Bytes::from_static(b"\x01\x02")),
            user_properties: vec![("k".into(), "v".into()), ("k".into(), "w\"".into())],
            subscription_identifiers: vec![7],
            content_type: Some("text/plain".into()),
        };
        let m = JsonMessage {
            topic: "t",
            payload: b"",
            qos: 0,
            retain: false,
            received: at(0, 0),
            properties: Some(&props),
        };
        assert_eq!(
            json(&m),
            "{\"topic\":\"t\",\"payload\":\"\",\"qos\":0,\"retain\":false,\
             \"received\":\"1970-01-01T00:00:00.000000Z\",\"properties\":{\
             \"payload_format_indicator\":1,\"message_expiry_interval\":60,\
             \"content_type\":\"text/plain\",\"response_topic\":\"re/ply\",\
             \"correlation_data\":\"AQI=\",\"user_properties\":[[\"k\",\"v\"],[\"k\",\"w\\\"\"]],\
             \"subscription_identifiers\":[7]}}\n"
        );
    }

    #[test]
    fn json_text_payload() {
        let m = JsonMessage {
            topic: "a/b",
            payload: b"text",
            qos: 1,
            retain: false,
            received: at(1_764_043_506, 123_456),
            properties: None,
        };
        assert_eq!(
            json(&m),
            "{\"topic\":\"a/b\",\"payload\":\"text\",\"qos\":1,\"retain\":false,\
             \"received\":\"2025-11-25T04:05:06.123456Z\"}\n"
        );
    }

    #[test]
    fn json_binary_payload_is_base64() {
        let m = JsonMessage {
            topic: "bin",
            payload: b"\xff\xfe",
            qos: 2,
            retain: true,
            received: UNIX_EPOCH,
            properties: None,
        };
        assert_eq!(
            json(&m),
            "{\"topic\":\"bin\",\"payload_base64\":\"//4=\",\"qos\":2,\"retain\":true,\
             \"received\":\"1970-01-01T00:00:00.000000Z\"}\n"
        );
    }

    #[test]
    fn json_escapes_topic_and_payload() {
        let m = JsonMessage {
            topic: "say \"hi\"\nnow",
            payload: "\\ \t\r\x08\x0c\x00\x1f\x7f é\u{2028}".as_bytes(),
            qos: 0,
            retain: false,
            received: UNIX_EPOCH,
            properties: None,
        };
        assert_eq!(
            json(&m),
            "{\"topic\":\"say \\\"hi\\\"\\nnow\",\
             \"payload\":\"\\\\ \\t\\r\\b\\f\\u0000\\u001f\x7f é\u{2028}\",\
             \"qos\":0,\"retain\":false,\"received\":\"1970-01-01T00:00:00.000000Z\"}\n"
        );
    }

    #[test]
    fn json_empty_payload_is_text() {
        let m = JsonMessage {
            topic: "",
            payload: b"",
            qos: 255,
            retain: false,
            received: UNIX_EPOCH,
            properties: None,
        };
        assert_eq!(
            json(&m),
            "{\"topic\":\"\",\"payload\":\"\",\"qos\":255,\"retain\":false,\
             \"received\":\"1970-01-01T00:00:00.000000Z\"}\n"
        );
    }

    #[test]
    fn u8_decimal() {
        for (n, want) in [(0u8, "0"), (9, "9"), (10, "10"), (99, "99"), (100, "100")] {
            let mut out = Vec::new();
            write_u8_decimal(&mut out, n).unwrap();
            assert_eq!(out, want.as_bytes());
        }
    }

    fn b64(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        base64_encode(&mut out, bytes).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn base64_rfc4648_vectors() {
        assert_eq!(b64(b""), "");
        assert_eq!(b64(b"f"), "Zg==");
        assert_eq!(b64(b"fo"), "Zm8=");
        assert_eq!(b64(b"foo"), "Zm9v");
        assert_eq!(b64(b"foob"), "Zm9vYg==");
        assert_eq!(b64(b"fooba"), "Zm9vYmE=");
        assert_eq!(b64(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64(b"\xff\xfe"), "//4=");
        assert_eq!(b64(b"\xfb\xff"), "+/8=");
    }

    #[test]
    fn base64_spans_chunks() {
        // Longer than one internal chunk, with a non-multiple-of-3 tail;
        // "foo" repeated encodes to "Zm9v" repeated.
        let input = b"foo".repeat(1000);
        let mut with_tail = input.clone();
        with_tail.push(b'f');
        assert_eq!(b64(&input), "Zm9v".repeat(1000));
        assert_eq!(b64(&with_tail), "Zm9v".repeat(1000) + "Zg==");
    }

    fn stamp(t: SystemTime) -> String {
        let mut buf = [0u8; RFC3339_LEN];
        rfc3339_utc(t, &mut buf).to_string()
    }

    #[test]
    fn rfc3339_known_instants() {
        // Expected values from `date -u -d @SECONDS`.
        assert_eq!(stamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            stamp(at(1_764_043_506, 123_456)),
            "2025-11-25T04:05:06.123456Z"
        );
        assert_eq!(stamp(at(951_827_696, 7)), "2000-02-29T12:34:56.000007Z");
        assert_eq!(stamp(at(951_782_400, 0)), "2000-02-29T00:00:00.000000Z");
        assert_eq!(
            stamp(at(253_402_300_799, 999_999)),
            "9999-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn rfc3339_truncates_sub_microseconds() {
        let t = UNIX_EPOCH + Duration::new(1, 999_999_999);
        assert_eq!(stamp(t), "1970-01-01T00:00:01.999999Z");
    }

    #[test]
    fn rfc3339_before_epoch() {
        // 1969-12-31T23:59:59 is -1 per `date -u -d @-1`.
        assert_eq!(
            stamp(UNIX_EPOCH - Duration::from_secs(1)),
            "1969-12-31T23:59:59.000000Z"
        );
        assert_eq!(
            stamp(UNIX_EPOCH - Duration::from_micros(1)),
            "1969-12-31T23:59:59.999999Z"
        );
        // Floors: 1.5 µs before the epoch shows as 2 µs before.
        assert_eq!(
            stamp(UNIX_EPOCH - Duration::from_nanos(1_500)),
            "1969-12-31T23:59:59.999998Z"
        );
    }

    #[test]
    fn rfc3339_clamps_to_four_digit_years() {
        let late = UNIX_EPOCH + Duration::from_secs(253_402_300_800);
        assert_eq!(stamp(late), "9999-12-31T23:59:59.999999Z");
        if let Some(early) = UNIX_EPOCH.checked_sub(Duration::from_secs(62_167_219_201)) {
            assert_eq!(stamp(early), "0000-01-01T00:00:00.000000Z");
        }
    }

    #[test]
    fn civil_dates_round_trip_through_days() {
        // Walks day by day across leap years and century rules from
        // 1600-03-01 to 2400-03-01, checking calendar continuity.
        let start = -135_080_i64; // 1600-03-01 per `date -u -d 1600-03-01 +%s` / 86400
        assert_eq!(civil_from_days(start), (1600, 3, 1));
        let (mut y, mut m, mut d) = (1600_i64, 3_u32, 1_u32);
        for days in start + 1..start + 292_194 {
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let month_len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > month_len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
        }
        assert_eq!((y, m, d), (2400, 2, 29));
    }
}
