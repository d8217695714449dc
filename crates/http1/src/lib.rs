//! Just enough HTTP/1.1 for the harness's own loopback servers (the egress
//! sink, the model gateway): reading a request head and body, writing a
//! response, and a response read back by a client. Std only; no TLS.

use std::io::{self, BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The most header lines accepted in one request.
pub const MAX_HEADERS: usize = 200;

/// A request line and headers (names lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// As sent: a path (`/v1/messages?beta=true`) or an absolute URI.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The target without its query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// Reads the request line and headers; `None` when the client closed
/// before sending anything.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid("not an HTTP request line"));
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        if headers.len() > MAX_HEADERS {
            return Err(invalid("too many headers"));
        }
    }
    Ok(Some(Head { method, target, headers }))
}

/// Reads the body the head announces (`content-length` or chunked). Keeps at
/// most `limit` bytes and discards the rest; returns the kept bytes and the
/// total length.
pub fn read_body(
    reader: &mut impl BufRead,
    head: &Head,
    limit: usize,
) -> io::Result<(Vec<u8>, usize)> {
    let mut kept = Vec::new();
    let mut total = 0;
    let take = |reader: &mut dyn Read, n: usize, kept: &mut Vec<u8>| -> io::Result<()> {
        let keep = n.min(limit.saturating_sub(kept.len()));
        let start = kept.len();
        kept.resize(start + keep, 0);
        reader.read_exact(&mut kept[start..])?;
        io::copy(&mut reader.take((n - keep) as u64), &mut io::sink())?;
        Ok(())
    };
    if head.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or_default(), 16)
                .map_err(|_| invalid("bad chunk size"))?;
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                return Ok((kept, total));
            }
            take(reader, size, &mut kept)?;
            total += size;
            line.clear();
            reader.read_line(&mut line)?; // the CRLF after the chunk
        }
    }
    let length = match head.header("content-length") {
        Some(v) => v.parse::<usize>().map_err(|_| invalid("bad content-length"))?,
        None => 0,
    };
    take(reader, length, &mut kept)?;
    Ok((kept, length))
}

/// Reads a response body: as [`read_body`] when the head announces a
/// length or chunks, else up to the end of the connection (a response may
/// be delimited by closing).
pub fn read_response_body(
    reader: &mut impl BufRead,
    head: &Head,
    limit: usize,
) -> io::Result<(Vec<u8>, usize)> {
    let delimited = head.header("content-length").is_some()
        || head.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if delimited {
        return read_body(reader, head, limit);
    }
    let mut kept = Vec::new();
    reader.take(limit as u64).read_to_end(&mut kept)?;
    let rest = io::copy(reader, &mut io::sink())?;
    let total = kept.len() + rest as usize;
    Ok((kept, total))
}

/// Writes a complete response with a `content-length`.
pub fn write_response(
    w: &mut impl Write,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    write!(
        w,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )?;
    w.write_all(body)?;
    w.flush()
}

/// Serves a listener on a thread of its own, one thread per connection,
/// until dropped.
pub struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Calls `handle` with every accepted connection, on its own thread, so
    /// a slow client does not hold up the others.
    pub fn start(
        listener: TcpListener,
        handle: impl Fn(TcpStream) + Send + Sync + 'static,
    ) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::new(handle);
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let handle = handle.clone();
                        std::thread::spawn(move || {
                            if conn.set_nonblocking(false).is_ok() {
                                handle(conn);
                            }
                        });
                    }
                    // The listener may live in another network namespace, so
                    // no connection can wake it: poll.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(Server { stop, thread: Some(thread) })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8], limit: usize) -> (Head, Vec<u8>, usize) {
        let mut r = io::BufReader::new(raw);
        let head = read_head(&mut r).unwrap().unwrap();
        let (body, total) = read_body(&mut r, &head, limit).unwrap();
        (head, body, total)
    }

    #[test]
    fn reads_content_length_and_chunked_bodies() {
        let (head, body, total) = parse(
            b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            100,
        );
        assert_eq!(
            (head.method.as_str(), head.path(), head.header("host")),
            ("POST", "/v1/messages", Some("x"))
        );
        assert_eq!((body.as_slice(), total), (&b"hello"[..], 5));
        let (_, body, total) = parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n", 100);
        assert_eq!((body.as_slice(), total), (&b"abcdefg"[..], 7));
    }

    #[test]
    fn reads_a_response_delimited_by_closing() {
        let mut r = io::BufReader::new(
            &b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it"[..],
        );
        let head = read_head(&mut r).unwrap().unwrap();
        assert_eq!(head.target, "200", "a status line parses like a request line");
        let (body, total) = read_response_body(&mut r, &head, 3).unwrap();
        assert_eq!((body.as_slice(), total), (&b"all"[..], 9));
    }

    #[test]
    fn keeps_at_most_the_limit() {
        let (_, body, total) = parse(b"PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 4);
        assert_eq!((body.as_slice(), total), (&b"0123"[..], 10));
    }

    #[test]
    fn refuses_junk() {
        assert!(read_head(&mut io::BufReader::new(&b"junk\r\n\r\n"[..])).is_err());
        assert!(read_head(&mut io::BufReader::new(&b""[..])).unwrap().is_none());
        let mut r = io::BufReader::new(&b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"[..]);
        let head = read_head(&mut r).unwrap().unwrap();
        assert!(read_body(&mut r, &head, 10).is_err());
    }
}
