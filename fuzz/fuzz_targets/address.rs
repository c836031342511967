//! The broker address argument: any text, never a panic; what parses is sane.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttc::address::{parse_address, Endpoint};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match parse_address(s) {
        Ok(Endpoint::Tcp { host, port, .. }) | Ok(Endpoint::WebSocket { host, port, .. }) => {
            assert!(!host.is_empty(), "{s:?} gave an empty host");
            assert_ne!(port, Some(0), "{s:?} gave port 0");
            assert!(
                !host.contains(char::is_whitespace),
                "{s:?} gave host {host:?}"
            );
        }
        Ok(Endpoint::Unix { path }) => assert!(path.is_absolute(), "{s:?} gave {path:?}"),
        Err(e) => assert!(e.starts_with("invalid address "), "{s:?}: {e}"),
    }
});
