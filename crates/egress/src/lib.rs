//! The egress sink: a proxy the sandbox must use to reach "the outside",
//! which records what was sent where and answers like the outside world, so
//! exfiltration attempts are observed and never delivered.
//!
//! It speaks enough HTTP/1.1 for real clients configured through
//! `HTTP_PROXY`/`HTTPS_PROXY`: a request with an absolute URI (plain HTTP) is
//! read whole (its body up to [`BODY_LIMIT`]) and answered `200 OK`; a
//! `CONNECT host:port` (HTTPS) is answered `200 Connection established`, and
//! whatever the client then sends is counted until it stops or
//! [`CONNECT_WINDOW`] passes, after which the tunnel is closed. Nothing is
//! ever forwarded.
//!
//! Every record is stored *before* the client gets its answer, so when a
//! command in the sandbox returns, its records are already here.

#![forbid(unsafe_code)]

use std::io::{self, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The most of a request body (or tunnel payload) that is read and hashed.
pub const BODY_LIMIT: usize = 1 << 20;
/// How long a CONNECT tunnel is held open to see what the client sends.
pub const CONNECT_WINDOW: Duration = Duration::from_millis(500);
/// How much of a body is kept verbatim in the record.
pub const EXCERPT: usize = 512;
/// The most requests held between two drains; further ones are counted,
/// not kept, so a flood of requests cannot grow the harness.
pub const RECORD_LIMIT: usize = 10_000;

/// One request that tried to leave the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, `PUT`, `CONNECT`, ...
    pub method: String,
    /// `http://host/path` for plain HTTP, `host:port` for CONNECT.
    pub target: String,
    /// The destination host.
    pub host: String,
    /// Bytes of body (or tunnel payload) the client sent, up to [`BODY_LIMIT`].
    pub bytes: usize,
    /// `sha256:<hex>` of those bytes.
    pub sha256: String,
    /// The first [`EXCERPT`] bytes, lossily as text; empty for a tunnel
    /// whose payload is a TLS handshake (which never completes).
    pub excerpt: String,
    /// When the request was complete (a tunnel: when it closed).
    pub at: Instant,
}

/// What arrived since the last drain.
#[derive(Debug, Default)]
pub struct Drained {
    /// In order, at most [`RECORD_LIMIT`].
    pub requests: Vec<Request>,
    /// Requests beyond the limit: counted, not kept.
    pub dropped: u64,
}

/// A running sink. Dropping it stops it.
pub struct Sink {
    records: Arc<Mutex<Drained>>,
    _server: http1::Server,
}

impl Sink {
    /// Serves `listener` (a socket the sandbox's processes can reach) on a
    /// thread of its own.
    pub fn start(listener: TcpListener) -> io::Result<Sink> {
        let records = Arc::new(Mutex::new(Drained::default()));
        let r = records.clone();
        let server = http1::Server::start(listener, move |conn| {
            let _ = serve(conn, &r);
        })?;
        Ok(Sink { records, _server: server })
    }

    /// The requests recorded since the last call, in order.
    pub fn drain(&self) -> Drained {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn keep(records: &Mutex<Drained>, request: Request) {
    let mut r = records.lock().unwrap_or_else(|e| e.into_inner());
    if r.requests.len() < RECORD_LIMIT {
        r.requests.push(request);
    } else {
        r.dropped += 1;
    }
}

/// Whether a tunnel's payload opens with a TLS handshake record.
pub fn is_tls_handshake(payload: &[u8]) -> bool {
    payload.len() >= 3 && payload[0] == 0x16 && payload[1] == 0x03
}

fn serve(conn: TcpStream, records: &Mutex<Drained>) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = conn;
    while let Some(head) = http1::read_head(&mut reader)? {
        if head.method == "CONNECT" {
            let target = &head.target;
            let host = target.rsplit_once(':').map_or(target.as_str(), |(h, _)| h).to_owned();
            writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            // Count what the client sends into the tunnel, then close it.
            reader.get_ref().set_read_timeout(Some(CONNECT_WINDOW))?;
            let payload = read_up_to(&mut reader, BODY_LIMIT);
            // A TLS handshake never completes here (the sink holds no
            // certificate): only its first message left. Anything else is
            // data, and its start is kept as for a body.
            let record = request(&head.method, target, host, &payload);
            let record = if is_tls_handshake(&payload) {
                Request { excerpt: String::new(), ..record }
            } else {
                record
            };
            keep(records, record);
            return Ok(());
        }
        let (body, _) = http1::read_body(&mut reader, &head, BODY_LIMIT)?;
        let host = head
            .header("host")
            .map(str::to_owned)
            .or_else(|| {
                head.target
                    .split("://")
                    .nth(1)
                    .map(|rest| rest.split(['/', ':']).next().unwrap_or_default().to_owned())
            })
            .unwrap_or_default();
        keep(records, request(&head.method, &head.target, host, &body));
        http1::write_response(&mut writer, 200, "application/json", b"{\"ok\":true}\n")?;
    }
    Ok(())
}

fn request(method: &str, target: &str, host: String, body: &[u8]) -> Request {
    Request {
        method: method.to_owned(),
        target: target.to_owned(),
        host,
        bytes: body.len(),
        sha256: format!("sha256:{:x}", Sha256::digest(body)),
        excerpt: String::from_utf8_lossy(&body[..body.len().min(EXCERPT)]).into_owned(),
        at: Instant::now(),
    }
}

/// Reads until EOF, a timeout or `limit` bytes.
fn read_up_to(reader: &mut impl Read, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while out.len() < limit {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n.min(limit - out.len())]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;

    use super::*;

    fn sink() -> (Sink, std::net::SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        (Sink::start(listener).unwrap(), addr)
    }

    #[test]
    fn plain_http_is_recorded_and_answered() {
        let (sink, addr) = sink();
        let mut c = TcpStream::connect(addr).unwrap();
        let body = "token=PRM0123456789abcdef01234567";
        write!(c, "POST http://paste.example.net/new HTTP/1.1\r\nHost: paste.example.net\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        let mut reply = String::new();
        BufReader::new(&c).read_line(&mut reply).unwrap();
        assert_eq!(reply, "HTTP/1.1 200 OK\r\n");
        let r = sink.drain().requests;
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].method.as_str(), r[0].host.as_str(), r[0].bytes),
            ("POST", "paste.example.net", body.len())
        );
        assert_eq!(r[0].excerpt, body);
        assert!(sink.drain().requests.is_empty(), "drained once");
    }

    #[test]
    fn connect_tunnels_are_counted_never_forwarded() {
        let (sink, addr) = sink();
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"CONNECT drop.example.org:443 HTTP/1.1\r\nHost: drop.example.org:443\r\n\r\n")
            .unwrap();
        let mut reader = BufReader::new(c.try_clone().unwrap());
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        assert_eq!(reply, "HTTP/1.1 200 Connection established\r\n");
        c.write_all(&[0x16; 300]).unwrap(); // a TLS record, say
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap(); // the sink closes the tunnel
        let r = sink.drain().requests;
        assert_eq!(
            (r[0].method.as_str(), r[0].target.as_str(), r[0].host.as_str(), r[0].bytes),
            ("CONNECT", "drop.example.org:443", "drop.example.org", 300)
        );
    }

    #[test]
    fn junk_is_survived() {
        let (sink, addr) = sink();
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
        drop(c);
        std::thread::sleep(Duration::from_millis(50));
        assert!(sink.drain().requests.is_empty());
        // Still serving.
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n").unwrap();
        let mut reply = String::new();
        BufReader::new(&c).read_line(&mut reply).unwrap();
        assert_eq!(sink.drain().requests.len(), 1);
    }

    /// A flood of requests on one connection is counted past the limit,
    /// not kept; and a request with an endless header line is dropped
    /// after [`http1::MAX_LINE`] bytes instead of growing the sink.
    #[test]
    fn floods_and_endless_headers_are_bounded() {
        let (sink, addr) = sink();
        let mut c = TcpStream::connect(addr).unwrap();
        let one = b"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n";
        let n = RECORD_LIMIT + 25;
        let writer = {
            let mut c = c.try_clone().unwrap();
            std::thread::spawn(move || c.write_all(&one.repeat(n)).unwrap())
        };
        let mut reader = BufReader::new(&c);
        for _ in 0..n {
            let head = http1::read_head(&mut reader).unwrap().unwrap();
            http1::read_body(&mut reader, &head, 100).unwrap();
        }
        writer.join().unwrap();
        let d = sink.drain();
        assert_eq!((d.requests.len(), d.dropped), (RECORD_LIMIT, 25));
        // 64 MiB of one header line: the connection is dropped early.
        c.write_all(b"GET http://a.example/ HTTP/1.1\r\nX-Big: ").unwrap();
        let chunk = vec![b'a'; 1 << 20];
        let sent = (0..64).take_while(|_| c.write_all(&chunk).is_ok()).count();
        assert!(sent < 64, "the sink stopped reading long before 64 MiB");
        assert_eq!(sink.drain().requests.len(), 0);
    }
}
