//! The lines of an input as the brief defines them, written the obvious way: the model the
//! line splitter (src/publish.rs) is checked against by tests/properties.rs and by the fuzz
//! target fuzz/fuzz_targets/lines.rs, which both include this file.

/// Split on `\n`, one trailing `\r` removed from each piece, the final empty piece dropped;
/// with `skip_empty`, empty lines dropped too.
pub fn reference_lines(input: &[u8], skip_empty: bool) -> Vec<Vec<u8>> {
    let mut pieces: Vec<Vec<u8>> = input
        .split(|&b| b == b'\n')
        .map(|p| p.strip_suffix(b"\r").unwrap_or(p).to_vec())
        .collect();
    if input.is_empty() || input.ends_with(b"\n") {
        pieces.pop();
    }
    if skip_empty {
        pieces.retain(|p| !p.is_empty());
    }
    pieces
}
