//! The record channel: the guest writes frames to its second serial port (`/dev/ttyS1`), QEMU
//! writes them to a file on the host, the host reads them back. A frame is a header line
//! `VETHBENCH-FRAME <kind> <length> <name>` and exactly `length` bytes; whatever a frame cut short
//! by a killed guest holds is reported, never taken for a whole record.

use std::io::Write;

const MAGIC: &str = "VETHBENCH-FRAME";

/// What a frame carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A record file the guest's `run` wrote (its path under the guest's output directory).
    Record {
        /// Path relative to the guest's output directory.
        name: String,
        /// The file's bytes.
        bytes: Vec<u8>,
    },
    /// The guest's doctor failed: the failing checks, one per line.
    DoctorFailed(String),
    /// The guest is done: the worst exit status of its runs.
    End(i32),
}

impl Frame {
    fn parts(&self) -> (&str, String, &[u8]) {
        match self {
            Frame::Record { name, bytes } => ("record", name.clone(), bytes),
            Frame::DoctorFailed(text) => ("doctor-failed", "-".into(), text.as_bytes()),
            Frame::End(status) => ("end", status.to_string(), &[]),
        }
    }
}

/// Writes one frame.
pub fn write(w: &mut impl Write, frame: &Frame) -> std::io::Result<()> {
    let (kind, name, bytes) = frame.parts();
    let name: String = name
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    write!(w, "\n{MAGIC} {kind} {} {name}\n", bytes.len())?;
    w.write_all(bytes)?;
    w.flush()
}

/// What came back: every whole frame, and what was wrong with the rest (a frame cut short).
#[derive(Debug, Default)]
pub struct Received {
    /// Whole frames, in order.
    pub frames: Vec<Frame>,
    /// A frame cut short or unreadable, described.
    pub broken: Option<String>,
}

/// Reads the frames in what the host's end of the channel holds.
pub fn read(bytes: &[u8]) -> Received {
    let mut out = Received::default();
    let mut at = 0;
    let magic = format!("\n{MAGIC} ");
    while let Some(found) = find(&bytes[at..], magic.as_bytes()) {
        let start = at + found + magic.len();
        let Some(eol) = bytes[start..].iter().position(|&b| b == b'\n') else {
            out.broken = Some("a frame header cut short".into());
            return out;
        };
        let header = String::from_utf8_lossy(&bytes[start..start + eol]).into_owned();
        let mut words = header.split(' ');
        let (kind, len, name) = (words.next(), words.next(), words.next());
        let Some(len) = len.and_then(|l| l.parse::<usize>().ok()) else {
            out.broken = Some(format!("an unreadable frame header {header:?}"));
            return out;
        };
        let body = start + eol + 1;
        let Some(data) = bytes.get(body..body + len) else {
            out.broken = Some(format!(
                "frame {header:?} cut short: {} of {len} bytes",
                bytes.len() - body
            ));
            return out;
        };
        let name = name.unwrap_or("").to_string();
        let frame = match kind {
            Some("record") => Frame::Record {
                name,
                bytes: data.to_vec(),
            },
            Some("doctor-failed") => Frame::DoctorFailed(String::from_utf8_lossy(data).into()),
            Some("end") => Frame::End(name.parse().unwrap_or(1)),
            _ => {
                out.broken = Some(format!("an unknown frame {header:?}"));
                return out;
            }
        };
        out.frames.push(frame);
        at = body + len;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_a_cut_frame_is_reported() {
        let frames = vec![
            Frame::Record {
                name: "run-0/r.json".into(),
                bytes: b"{\"a\":\n1}\nVETHBENCH-FRAME inside data".to_vec(),
            },
            Frame::DoctorFailed("AF_XDP socket: no".into()),
            Frame::End(2),
        ];
        let mut buf = b"noise before".to_vec();
        for f in &frames {
            write(&mut buf, f).unwrap();
        }
        let got = read(&buf);
        assert_eq!(got.frames, frames);
        assert!(got.broken.is_none());
        let cut = read(&buf[..buf.len() - 40]);
        assert_eq!(cut.frames.len(), 1);
        assert!(cut.broken.unwrap().contains("cut short"));
    }
}
