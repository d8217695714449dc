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

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The most of a request body (or tunnel payload) that is read and hashed.
pub const BODY_LIMIT: usize = 1 << 20;
/// How long a CONNECT tunnel is held open to see what the client sends.
pub const CONNECT_WINDOW: Duration = Duration::from_millis(500);
/// How much of a body is kept verbatim in the record.
pub const EXCERPT: usize = 512;

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
    /// The first [`EXCERPT`] bytes, lossily as text (empty for tunnels,
    /// whose payload is TLS).
    pub excerpt: String,
}

/// A running sink. Dropping it stops it.
pub struct Sink {
    records: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    /// Serves `listener` (a socket the sandbox's processes can reach) on a
    /// thread of its own.
    pub fn start(listener: TcpListener) -> io::Result<Sink> {
        listener.set_nonblocking(true)?;
        let records = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (records.clone(), stop.clone());
        let thread = std::thread::spawn(move || accept_loop(&listener, &r, &s));
        Ok(Sink { records, stop, thread: Some(thread) })
    }

    /// The requests recorded since the last call, in order.
    pub fn drain(&self) -> Vec<Request> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, records: &Arc<Mutex<Vec<Request>>>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((conn, _)) => {
                let records = records.clone();
                // One thread per connection: a slow client must not hold up
                // the others.
                std::thread::spawn(move || {
                    let _ = serve(conn, &records);
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn serve(conn: TcpStream, records: &Mutex<Vec<Request>>) -> io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = conn;
    loop {
        let Some((method, target, headers)) = read_head(&mut reader)? else { return Ok(()) };
        if method == "CONNECT" {
            let host = target.rsplit_once(':').map_or(target.as_str(), |(h, _)| h).to_owned();
            writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            // Count what the client sends into the tunnel, then close it.
            reader.get_ref().set_read_timeout(Some(CONNECT_WINDOW))?;
            let payload = read_up_to(&mut reader, BODY_LIMIT);
            let record =
                Request { excerpt: String::new(), ..request(&method, &target, host, &payload) };
            records.lock().unwrap_or_else(|e| e.into_inner()).push(record);
            return Ok(());
        }
        let length =
            header(&headers, "content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        let mut body = vec![0u8; length.min(BODY_LIMIT)];
        reader.read_exact(&mut body)?;
        if length > BODY_LIMIT {
            io::copy(&mut (&mut reader).take((length - BODY_LIMIT) as u64), &mut io::sink())?;
        }
        let host = header(&headers, "host")
            .map(str::to_owned)
            .or_else(|| {
                target
                    .split("://")
                    .nth(1)
                    .map(|rest| rest.split(['/', ':']).next().unwrap_or_default().to_owned())
            })
            .unwrap_or_default();
        records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request(&method, &target, host, &body));
        let reply = b"{\"ok\":true}\n";
        write!(
            writer,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            reply.len()
        )?;
        writer.write_all(reply)?;
    }
}

fn request(method: &str, target: &str, host: String, body: &[u8]) -> Request {
    Request {
        method: method.to_owned(),
        target: target.to_owned(),
        host,
        bytes: body.len(),
        sha256: format!("sha256:{:x}", Sha256::digest(body)),
        excerpt: String::from_utf8_lossy(&body[..body.len().min(EXCERPT)]).into_owned(),
    }
}

type Head = (String, String, Vec<(String, String)>);

/// The request line and headers; `None` when the client closed first.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not an HTTP request line"));
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
        if headers.len() > 200 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "too many headers"));
        }
    }
    Ok(Some((method, target, headers)))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
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
        let r = sink.drain();
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].method.as_str(), r[0].host.as_str(), r[0].bytes),
            ("POST", "paste.example.net", body.len())
        );
        assert_eq!(r[0].excerpt, body);
        assert!(sink.drain().is_empty(), "drained once");
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
        let r = sink.drain();
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
        assert!(sink.drain().is_empty());
        // Still serving.
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n").unwrap();
        let mut reply = String::new();
        BufReader::new(&c).read_line(&mut reply).unwrap();
        assert_eq!(sink.drain().len(), 1);
    }
}
