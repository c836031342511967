//! Durations: any text, never a panic; what parses formats and parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttc::duration::{format_duration, parse_duration};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = parse_duration(s) {
        let text = format_duration(d);
        assert_eq!(parse_duration(&text), Ok(d), "{s:?} -> {d:?} -> {text:?}");
    }
});
