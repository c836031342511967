//! Standard input → payloads: the whole input as one message, or one message per line.
//! Knows nothing of sockets; the session takes what this produces.
//!
//! Reading happens on a blocking thread, never on the event loop's thread (a read that waits
//! for the next line must not stall acknowledgements or pings).

use std::io::{self, Read};

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

/// How much standard input is read at once; lines are cut out of these blocks without copying.
const BLOCK: usize = 64 * 1024;

/// Reads all of standard input.
pub fn read_all() -> tokio::task::JoinHandle<io::Result<Vec<u8>>> {
    tokio::task::spawn_blocking(|| {
        let mut data = Vec::new();
        io::stdin().lock().read_to_end(&mut data).map(|_| data)
    })
}

/// Lines of standard input in batches, as they arrive: each read hands over every complete
/// line it holds, so a line typed or tailed is sent at once and a file is sent in bulk. The
/// channel is bounded, so input is read no faster than the broker takes it.
pub type Lines = mpsc::Receiver<io::Result<Vec<Bytes>>>;

pub fn spawn_line_reader(skip_empty: bool) -> Lines {
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut splitter = LineSplitter::new(skip_empty);
        let mut stdin = io::stdin().lock();
        loop {
            let result = splitter.fill(&mut stdin);
            let end = !matches!(result, Ok(true));
            let out = result.map(|_| splitter.take());
            let empty = matches!(&out, Ok(lines) if lines.is_empty());
            if (end || !empty) && tx.blocking_send(out).is_err() {
                return;
            }
            if end {
                return;
            }
        }
    });
    rx
}

/// Cuts blocks of input into lines; a line break is `\n` or `\r\n` and is not part of the line.
pub struct LineSplitter {
    buf: BytesMut,
    lines: Vec<Bytes>,
    skip_empty: bool,
}

impl LineSplitter {
    pub fn new(skip_empty: bool) -> Self {
        LineSplitter {
            buf: BytesMut::with_capacity(BLOCK),
            lines: Vec::new(),
            skip_empty,
        }
    }

    /// Reads once; Ok(false) at the end of input, after which the last unterminated line is
    /// among the lines taken.
    pub fn fill(&mut self, r: &mut impl Read) -> io::Result<bool> {
        let start = self.buf.len();
        self.buf.resize(start + BLOCK, 0);
        let n = loop {
            match r.read(&mut self.buf[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(start);
                return Err(e);
            }
        };
        self.buf.truncate(start + n);
        if n == 0 {
            if !self.buf.is_empty() {
                let last = self.buf.split().freeze();
                self.push(last);
            }
            return Ok(false);
        }
        if let Some(at) = self.buf[start..].iter().rposition(|&b| b == b'\n') {
            let block = self.buf.split_to(start + at + 1).freeze();
            let mut from = 0;
            for i in memchr_iter(&block) {
                self.push(block.slice(from..i));
                from = i + 1;
            }
        }
        Ok(true)
    }

    fn push(&mut self, mut line: Bytes) {
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if !(self.skip_empty && line.is_empty()) {
            self.lines.push(line);
        }
    }

    pub fn take(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.lines)
    }
}

fn memchr_iter(block: &[u8]) -> impl Iterator<Item = usize> + '_ {
    block
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its chunks one read at a time, like a pipe.
    struct Chunks(Vec<&'static [u8]>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let chunk = self.0.remove(0);
            buf[..chunk.len()].copy_from_slice(chunk);
            Ok(chunk.len())
        }
    }

    fn split(chunks: Vec<&'static [u8]>, skip_empty: bool) -> Vec<Vec<Vec<u8>>> {
        let mut s = LineSplitter::new(skip_empty);
        let mut r = Chunks(chunks);
        let mut batches = Vec::new();
        loop {
            let more = s.fill(&mut r).unwrap();
            batches.push(s.take().iter().map(|b| b.to_vec()).collect());
            if !more {
                return batches;
            }
        }
    }

    fn v(lines: &[&str]) -> Vec<Vec<u8>> {
        lines.iter().map(|l| l.as_bytes().to_vec()).collect()
    }

    #[test]
    fn lines_are_handed_over_per_read() {
        assert_eq!(
            split(vec![b"a\nb", b"c\n\nd\r\n", b"tail"], false),
            vec![v(&["a"]), v(&["bc", "", "d"]), v(&[]), v(&["tail"])]
        );
    }

    #[test]
    fn empty_lines_can_be_skipped() {
        assert_eq!(split(vec![b"\n\na\n\r\n"], true), vec![v(&["a"]), v(&[])]);
    }

    #[test]
    fn no_input_no_lines_and_no_final_empty_line() {
        assert_eq!(split(vec![], false), vec![v(&[])]);
        assert_eq!(split(vec![b"x\n"], false), vec![v(&["x"]), v(&[])]);
    }

    #[test]
    fn binary_lines_pass_unchanged() {
        assert_eq!(
            split(vec![b"\x00\xff\n"], false),
            vec![vec![vec![0u8, 0xff]], v(&[])]
        );
    }
}
