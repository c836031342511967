//! `--lines` framing: whatever the input and however the reads cut it, the lines are the
//! input split on \n with one trailing \r removed, the final empty piece dropped.
#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use mqttc::publish::LineSplitter;

#[path = "../../tests/support/lines_model.rs"]
mod lines_model;
use lines_model::reference_lines;

/// Hands out the input in the given read sizes, like a pipe.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    next: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = match self.sizes {
            [] => usize::MAX,
            sizes => usize::from(sizes[self.next % sizes.len()]) + 1,
        };
        self.next += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    // Byte 0: bit 0 is skip_empty, bits 1-4 how many of the next bytes are read sizes.
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let skip_empty = flags & 1 != 0;
    let (sizes, input) = rest.split_at(usize::from(flags >> 1 & 0xf).min(rest.len()));

    let mut reader = Chunked {
        data: input,
        sizes,
        next: 0,
    };
    let mut splitter = LineSplitter::new(skip_empty);
    let mut got = Vec::new();
    loop {
        let more = splitter.fill(&mut reader).unwrap();
        got.extend(splitter.take().iter().map(|b| b.to_vec()));
        if !more {
            break;
        }
        let fed = input.len() - reader.data.len();
        let complete = input[..fed]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        assert_eq!(got, reference_lines(&input[..complete], skip_empty));
    }
    assert_eq!(got, reference_lines(input, skip_empty));
});
