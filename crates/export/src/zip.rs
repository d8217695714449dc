//! A ZIP archive writer: deflated members, a central directory, no ZIP64
//! (an archive past 65,535 members or 4 GiB is refused). What Python's
//! `zipfile`, and so Inspect's reader, takes.

use std::io::{self, Write};

/// A member's place in the central directory.
struct Member {
    name: String,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
}

pub struct ZipWriter<W: Write> {
    out: W,
    offset: u64,
    members: Vec<Member>,
}

/// A member deflated ahead of writing (so that members can be compressed
/// on several threads and written in order).
pub struct Deflated {
    name: String,
    crc: u32,
    size: usize,
    data: Vec<u8>,
}

/// Deflates `bytes` as the member `name`.
pub fn deflate(name: &str, bytes: &[u8]) -> Deflated {
    Deflated {
        name: name.to_owned(),
        crc: crc32(bytes),
        size: bytes.len(),
        data: miniz_oxide::deflate::compress_to_vec(bytes, 3),
    }
}

fn too_big(what: &str) -> io::Error {
    io::Error::other(format!("{what}: past what a ZIP archive without ZIP64 holds"))
}

impl<W: Write> ZipWriter<W> {
    pub fn new(out: W) -> ZipWriter<W> {
        ZipWriter { out, offset: 0, members: Vec::new() }
    }

    pub fn add(&mut self, member: Deflated) -> io::Result<()> {
        let u32_of = |n: u64, what: &str| u32::try_from(n).map_err(|_| too_big(what));
        let name = member.name.as_bytes();
        let entry = Member {
            crc: member.crc,
            compressed: u32_of(member.data.len() as u64, &member.name)?,
            size: u32_of(member.size as u64, &member.name)?,
            offset: u32_of(self.offset, "the archive")?,
            name: member.name.clone(),
        };
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        h.extend_from_slice(&0x0800u16.to_le_bytes()); // the name is UTF-8
        h.extend_from_slice(&8u16.to_le_bytes()); // deflate
        h.extend_from_slice(&0u16.to_le_bytes()); // time
        h.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
        h.extend_from_slice(&entry.crc.to_le_bytes());
        h.extend_from_slice(&entry.compressed.to_le_bytes());
        h.extend_from_slice(&entry.size.to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // extra
        h.extend_from_slice(name);
        self.out.write_all(&h)?;
        self.out.write_all(&member.data)?;
        self.offset += (h.len() + member.data.len()) as u64;
        if self.members.len() == usize::from(u16::MAX) {
            return Err(too_big("the number of members"));
        }
        self.members.push(entry);
        Ok(())
    }

    /// Writes the central directory; the archive is complete.
    pub fn finish(mut self) -> io::Result<W> {
        let start = u32::try_from(self.offset).map_err(|_| too_big("the archive"))?;
        let mut dir = Vec::new();
        for m in &self.members {
            let name = m.name.as_bytes();
            dir.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            dir.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: Unix, 3.0
            dir.extend_from_slice(&20u16.to_le_bytes());
            dir.extend_from_slice(&0x0800u16.to_le_bytes());
            dir.extend_from_slice(&8u16.to_le_bytes());
            dir.extend_from_slice(&0u16.to_le_bytes());
            dir.extend_from_slice(&0x21u16.to_le_bytes());
            dir.extend_from_slice(&m.crc.to_le_bytes());
            dir.extend_from_slice(&m.compressed.to_le_bytes());
            dir.extend_from_slice(&m.size.to_le_bytes());
            dir.extend_from_slice(&(name.len() as u16).to_le_bytes());
            dir.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
            dir.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes()); // a regular file, rw-r--r--
            dir.extend_from_slice(&m.offset.to_le_bytes());
            dir.extend_from_slice(name);
        }
        let size = u32::try_from(dir.len()).map_err(|_| too_big("the central directory"))?;
        let count = self.members.len() as u16;
        dir.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        dir.extend_from_slice(&[0; 4]); // this disk, the directory's disk
        dir.extend_from_slice(&count.to_le_bytes());
        dir.extend_from_slice(&count.to_le_bytes());
        dir.extend_from_slice(&size.to_le_bytes());
        dir.extend_from_slice(&start.to_le_bytes());
        dir.extend_from_slice(&0u16.to_le_bytes()); // comment
        self.out.write_all(&dir)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// CRC-32 (IEEE 802.3, reflected), as ZIP uses it: slicing by eight bytes.
pub fn crc32(bytes: &[u8]) -> u32 {
    static TABLES: std::sync::OnceLock<[[u32; 256]; 8]> = std::sync::OnceLock::new();
    let t = TABLES.get_or_init(|| {
        let mut t = [[0u32; 256]; 8];
        for (i, slot) in t[0].iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *slot = c;
        }
        for k in 1..8 {
            let (before, after) = t.split_at_mut(k);
            for (i, slot) in after[0].iter_mut().enumerate() {
                let prev = before[k - 1][i];
                *slot = (prev >> 8) ^ before[0][(prev & 0xff) as usize];
            }
        }
        t
    });
    let mut c = !0u32;
    let mut chunks = bytes.chunks_exact(8);
    for b in &mut chunks {
        let lo = c ^ u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let hi = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        c = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for b in chunks.remainder() {
        c = t[0][((c ^ u32::from(*b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_known_strings() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
    }

    #[test]
    fn an_archive_reads_back_member_by_member() {
        let mut z = ZipWriter::new(Vec::new());
        z.add(deflate("a.json", b"{\"a\": 1}")).unwrap();
        z.add(deflate("dir/b.json", &vec![b'x'; 100_000])).unwrap();
        let bytes = z.finish().unwrap();
        // The end of central directory names two members, and each local
        // header's data inflates to what was written.
        let eocd = bytes.len() - 22;
        assert_eq!(&bytes[eocd..eocd + 4], &0x0605_4b50u32.to_le_bytes());
        assert_eq!(u16::from_le_bytes([bytes[eocd + 10], bytes[eocd + 11]]), 2);
        let second =
            30 + "a.json".len() + miniz_oxide::deflate::compress_to_vec(b"{\"a\": 1}", 3).len();
        let name_len = u16::from_le_bytes([bytes[second + 26], bytes[second + 27]]) as usize;
        let size = u32::from_le_bytes(bytes[second + 18..second + 22].try_into().unwrap()) as usize;
        let data = &bytes[second + 30 + name_len..second + 30 + name_len + size];
        let back = miniz_oxide::inflate::decompress_to_vec(data).unwrap();
        assert_eq!(back, vec![b'x'; 100_000]);
        assert_eq!(
            crc32(&back),
            u32::from_le_bytes(bytes[second + 14..second + 18].try_into().unwrap())
        );
    }
}
