//! Just enough HTTP/1.1 for the harness's own loopback servers (the egress
//! sink, the model gateway): reading a request head and body, writing a
//! response, and a response read back by a client. Std only; no TLS.
//!
//! Whoever writes to these servers is the agent under test, so every read
//! is bounded: a line of a head by [`MAX_LINE`], a whole head by
//! [`MAX_HEAD`] and [`MAX_HEADERS`], a chunk-size line and trailers the
//! same way, a kept body by the caller's limit (the rest is read and
//! dropped), and the connections served at once by [`MAX_CONNECTIONS`].

#![forbid(unsafe_code)]

use std::io::{self, BufRead, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The most header lines accepted in one request.
pub const MAX_HEADERS: usize = 200;
/// The longest line of a head (request or status line, header, chunk size,
/// trailer), with its line ending.
pub const MAX_LINE: usize = 16 << 10;
/// The most bytes of one head, or of one body's trailers.
pub const MAX_HEAD: usize = 128 << 10;
/// The most connections a [`Server`] handles at once; further ones wait in
/// the listener's backlog until one ends.
pub const MAX_CONNECTIONS: usize = 64;

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

/// Reads one line into `line` (cleared first), with its ending; at most
/// `max` bytes are ever held: a longer line is an error. Returns the bytes
/// read, 0 at the end of the input.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    line.clear();
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(line.len());
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max {
            return Err(invalid(&format!("a line of the head is longer than {max} bytes")));
        }
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if done {
            return Ok(line.len());
        }
    }
}

/// Reads lines until a blank one, each bounded by [`MAX_LINE`] and all of
/// them together by [`MAX_HEAD`], handing each non-blank one to `each`.
fn read_lines(
    reader: &mut impl BufRead,
    mut used: usize,
    each: &mut dyn FnMut(&str) -> io::Result<()>,
) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        let n = read_line(reader, &mut line, MAX_LINE)?;
        used += n;
        if used > MAX_HEAD {
            return Err(invalid(&format!("a head is longer than {MAX_HEAD} bytes")));
        }
        let text = String::from_utf8_lossy(&line);
        if n == 0 || text.trim().is_empty() {
            return Ok(());
        }
        each(&text)?;
    }
}

/// Reads the request line and headers; `None` when the client closed
/// before sending anything.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut first = Vec::new();
    let used = read_line(reader, &mut first, MAX_LINE)?;
    if used == 0 {
        return Ok(None);
    }
    let first = String::from_utf8_lossy(&first);
    let mut parts = first.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid("not an HTTP request line"));
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    read_lines(reader, used, &mut |line| {
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        if headers.len() > MAX_HEADERS {
            return Err(invalid("too many headers"));
        }
        Ok(())
    })?;
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
    stream_body(reader, head, limit, false, &mut |_| Ok(()))
}

/// Reads a response body: as [`read_body`] when the head announces a
/// length or chunks, else up to the end of the connection (a response may
/// be delimited by closing).
pub fn read_response_body(
    reader: &mut impl BufRead,
    head: &Head,
    limit: usize,
) -> io::Result<(Vec<u8>, usize)> {
    stream_body(reader, head, limit, true, &mut |_| Ok(()))
}

/// Reads a body as it arrives, handing every piece to `each` (a relay
/// passes it on at once) and keeping at most `limit` bytes. `to_close`: a
/// body without a length or chunks runs to the end of the connection (a
/// response), instead of being empty (a request). Returns the kept bytes and
/// the total length.
pub fn stream_body(
    reader: &mut impl BufRead,
    head: &Head,
    limit: usize,
    to_close: bool,
    each: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<(Vec<u8>, usize)> {
    let mut kept = Vec::new();
    let mut total = 0;
    let mut buf = vec![0u8; 16 * 1024];
    // Reads `n` bytes, or to the end when `n` is `None`.
    let mut take =
        |reader: &mut dyn BufRead, n: Option<usize>, kept: &mut Vec<u8>| -> io::Result<usize> {
            let mut done = 0;
            while n.is_none_or(|n| done < n) {
                let want = n.map_or(buf.len(), |n| (n - done).min(buf.len()));
                let got = reader.read(&mut buf[..want])?;
                if got == 0 {
                    if n.is_some() {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the body ended early",
                        ));
                    }
                    break;
                }
                each(&buf[..got])?;
                let room = limit.saturating_sub(kept.len()).min(got);
                kept.extend_from_slice(&buf[..room]);
                done += got;
            }
            Ok(done)
        };
    if head.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut line = Vec::new();
        loop {
            read_line(reader, &mut line, MAX_LINE)?;
            let text = String::from_utf8_lossy(&line);
            let size = usize::from_str_radix(text.trim().split(';').next().unwrap_or_default(), 16)
                .map_err(|_| invalid("bad chunk size"))?;
            if size == 0 {
                // Trailers, then the blank line.
                read_lines(reader, 0, &mut |_| Ok(()))?;
                return Ok((kept, total));
            }
            total += take(reader, Some(size), &mut kept)?;
            read_line(reader, &mut line, MAX_LINE)?; // the CRLF after the chunk
        }
    }
    match head.header("content-length") {
        Some(v) => {
            let length = v.parse::<usize>().map_err(|_| invalid("bad content-length"))?;
            total = take(reader, Some(length), &mut kept)?;
        }
        None if to_close => total = take(reader, None, &mut kept)?,
        None => {}
    }
    Ok((kept, total))
}

/// Starts a response whose body follows in chunks ([`write_chunk`], then
/// [`finish_chunks`]).
pub fn write_chunked_head(
    w: &mut (impl Write + ?Sized),
    status: u16,
    content_type: &str,
) -> io::Result<()> {
    write!(
        w,
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n",
        reason(status)
    )?;
    w.flush()
}

/// One chunk of a chunked body, flushed at once (empty input writes
/// nothing: an empty chunk would end the body).
pub fn write_chunk(w: &mut (impl Write + ?Sized), bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    write!(w, "{:x}\r\n", bytes.len())?;
    w.write_all(bytes)?;
    w.write_all(b"\r\n")?;
    w.flush()
}

/// Ends a chunked body.
pub fn finish_chunks(w: &mut (impl Write + ?Sized)) -> io::Result<()> {
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

/// Writes a complete response with a `content-length`.
pub fn write_response(
    w: &mut impl Write,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let reason = reason(status);
    write!(
        w,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )?;
    w.write_all(body)?;
    w.flush()
}

/// Writes a complete response with a `content-length` and the given
/// headers (each name and value free of line breaks: a header the caller
/// could not vouch for is dropped, never written).
pub fn write_response_with(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
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
    }
}

/// Serves a listener on a thread of its own, one thread per connection,
/// until dropped.
pub struct Server {
    stop: Arc<AtomicBool>,
    /// The listener, to shut down: that wakes the accept blocked on it.
    listener: TcpListener,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Calls `handle` with every accepted connection, on its own thread, so
    /// a slow client does not hold up the others; at most
    /// [`MAX_CONNECTIONS`] at once.
    pub fn start(
        listener: TcpListener,
        handle: impl Fn(TcpStream) + Send + Sync + 'static,
    ) -> io::Result<Server> {
        // The accept blocks until a connection comes or the server is
        // dropped: the drop shuts the listening socket down, which wakes
        // it (Linux returns EINVAL), wherever the listener's network
        // namespace is. Nothing wakes up in between. (It used to poll a
        // non-blocking accept every 2 ms, then to wait at most 100 ms:
        // at 512 episodes at once, two servers each, their wake-ups were
        // a large share of the harness's CPU.)
        listener.set_nonblocking(false)?;
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::new(handle);
        let flag = stop.clone();
        let open = Arc::new(AtomicUsize::new(0));
        let accepting = listener.try_clone()?;
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Acquire) {
                // At the limit, leave new connections in the backlog.
                if open.load(Ordering::Acquire) >= MAX_CONNECTIONS {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                match accepting.accept() {
                    Ok((conn, _)) => {
                        let handle = handle.clone();
                        let open = open.clone();
                        open.fetch_add(1, Ordering::AcqRel);
                        std::thread::spawn(move || {
                            if conn.set_nonblocking(false).is_ok() {
                                handle(conn);
                            }
                            open.fetch_sub(1, Ordering::AcqRel);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // Shut down (the flag says so), or out of descriptors
                    // for a moment.
                    Err(_) => {
                        if !flag.load(Ordering::Acquire) {
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
            }
        });
        Ok(Server { stop, listener, thread: Some(thread) })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = socket2::SockRef::from(&self.listener).shutdown(std::net::Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn a_server_serves_until_dropped_and_the_drop_wakes_its_blocked_accept() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::start(listener, |mut conn| {
            let _ = conn.write_all(b"hello");
        })
        .unwrap();
        let mut got = String::new();
        TcpStream::connect(addr).unwrap().read_to_string(&mut got).unwrap();
        assert_eq!(got, "hello");
        // The accept is blocked again, with no timeout: only the drop's
        // shutdown ends it (a drop that did not would hang here).
        std::thread::sleep(Duration::from_millis(50));
        let started = std::time::Instant::now();
        drop(server);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
    }

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
    fn streams_a_chunked_body_piece_by_piece() {
        let mut wire = Vec::new();
        write_chunked_head(&mut wire, 200, "text/event-stream").unwrap();
        for piece in [&b"data: 1\n\n"[..], b"", b"data: 2\n\n"] {
            write_chunk(&mut wire, piece).unwrap();
        }
        finish_chunks(&mut wire).unwrap();
        let mut r = io::BufReader::new(wire.as_slice());
        let head = read_head(&mut r).unwrap().unwrap();
        let mut pieces = Vec::new();
        let (body, total) = stream_body(&mut r, &head, 12, true, &mut |p| {
            pieces.push(p.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            pieces,
            [b"data: 1\n\n".to_vec(), b"data: 2\n\n".to_vec()],
            "each piece as it came"
        );
        assert_eq!((body.as_slice(), total), (&b"data: 1\n\ndat"[..], 18));
        // A length that the connection does not deliver is an error.
        let mut r = io::BufReader::new(&b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"[..]);
        let head = read_head(&mut r).unwrap().unwrap();
        assert!(read_response_body(&mut r, &head, 100).is_err());
    }

    #[test]
    fn keeps_at_most_the_limit() {
        let (_, body, total) = parse(b"PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 4);
        assert_eq!((body.as_slice(), total), (&b"0123"[..], 10));
    }

    /// An endless line (a 2.5 GB header once grew the harness to 2.4 GB)
    /// is refused after [`MAX_LINE`] bytes, wherever it appears.
    #[test]
    fn endless_lines_are_refused_without_being_held() {
        let endless = |prefix: &'static [u8]| io::BufReader::new(prefix.chain(io::repeat(b'a')));
        for prefix in [&b""[..], b"GET / HTTP/1.1\r\nX-Long: ", b"GET / HTTP/1.1\r\n"] {
            let e = read_head(&mut endless(prefix)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{prefix:?}");
        }
        // Many short headers add up to a head over the limit.
        let many =
            [&b"GET / HTTP/1.1\r\n"[..], &b"no-colon-here\r\n".repeat(MAX_HEAD / 15 + 1)].concat();
        assert!(read_head(&mut io::BufReader::new(many.as_slice())).is_err());
        // A chunk-size line and trailers are bounded the same way.
        let head = Head {
            method: "POST".into(),
            target: "/".into(),
            headers: vec![("transfer-encoding".into(), "chunked".into())],
        };
        assert!(read_body(&mut endless(b""), &head, 10).is_err());
        assert!(read_body(&mut endless(b"0\r\nX-Trailer: "), &head, 10).is_err());
        assert!(read_body(&mut endless(b"0\r\n"), &head, 10).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, failure_persistence: None, ..Default::default() })]

        /// Arbitrary bytes never panic the parser, and what it keeps stays
        /// within the limits whatever it is sent.
        #[test]
        fn arbitrary_requests_are_parsed_within_bounds(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            prefix in proptest::sample::select(vec![
                &b""[..],
                b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"CONNECT a:443 HTTP/1.1\r\n",
            ]),
            limit in 0..64usize,
        ) {
            let input = [prefix, bytes.as_slice()].concat();
            let mut r = io::BufReader::with_capacity(7, input.as_slice());
            if let Ok(Some(head)) = read_head(&mut r) {
                proptest::prop_assert!(head.headers.len() <= MAX_HEADERS);
                if let Ok((kept, total)) = read_body(&mut r, &head, limit) {
                    proptest::prop_assert!(kept.len() <= limit && kept.len() <= total);
                }
            }
        }
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
