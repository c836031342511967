//! Topic names and filters: any text, never a panic; every topic name is a filter too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttc::topic::{check_filter, check_topic};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let topic = check_topic(s);
    let filter = check_filter(s);
    if topic.is_ok() {
        assert_eq!(filter, Ok(()), "{s:?} is a topic but not a filter");
    }
});
