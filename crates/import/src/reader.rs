//! Lines with bounded memory: a line longer than the limit is consumed and
//! reported by its length, never held.

use std::io::{self, BufRead};

/// One line of input, without its newline.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Text { number: u64, bytes: &'a [u8] },
    TooLong { number: u64, length: u64 },
}

/// Reads lines of at most `max` bytes from a stream.
pub struct Lines<R> {
    input: R,
    max: usize,
    buf: Vec<u8>,
    number: u64,
    bytes: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R, max: usize) -> Lines<R> {
        Lines { input, max, buf: Vec::new(), number: 0, bytes: 0 }
    }

    /// Lines read so far.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut length: u64 = 0;
        let mut over = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if length == 0 {
                    return Ok(None);
                }
                break; // a last line without a newline
            }
            let (piece, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], i + 1),
                None => (chunk, chunk.len()),
            };
            let ended = done > piece.len();
            length += piece.len() as u64;
            if !over && self.buf.len() + piece.len() > self.max {
                over = true;
                self.buf.clear();
                self.buf.shrink_to(self.max.min(1 << 20));
            }
            if !over {
                self.buf.extend_from_slice(piece);
            }
            self.input.consume(done);
            self.bytes += done as u64;
            if ended {
                break;
            }
        }
        self.number += 1;
        if over {
            return Ok(Some(Line::TooLong { number: self.number, length }));
        }
        let end = self.buf.len() - usize::from(self.buf.last() == Some(&b'\r'));
        Ok(Some(Line::Text { number: self.number, bytes: &self.buf[..end] }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_skipped_not_held() {
        let text = format!("short\r\n{}\nafter\nlast", "x".repeat(100));
        let mut lines = Lines::new(io::BufReader::with_capacity(8, text.as_bytes()), 10);
        let mut got = Vec::new();
        while let Some(l) = lines.next_line().unwrap() {
            got.push(match l {
                Line::Text { number, bytes } => {
                    format!("{number}:{}", String::from_utf8_lossy(bytes))
                }
                Line::TooLong { number, length } => format!("{number}:too long {length}"),
            });
            assert!(lines.buf.capacity() <= 1 << 20);
        }
        assert_eq!(got, ["1:short", "2:too long 100", "3:after", "4:last"]);
        assert_eq!(lines.bytes(), text.len() as u64);
    }
}
