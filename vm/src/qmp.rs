//! QEMU's machine protocol (QMP), just enough to learn the host thread of each vCPU
//! (`query-cpus-fast`) so it can be pinned to a host core.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The host thread id of each vCPU, in vCPU order.
pub fn vcpu_threads(socket: &Path, within: Duration) -> Result<Vec<i32>, String> {
    let start = Instant::now();
    let stream = loop {
        match UnixStream::connect(socket) {
            Ok(s) => break s,
            Err(e) if start.elapsed() > within => {
                return Err(format!("QMP socket {}: {e}", socket.display()))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    stream
        .set_read_timeout(Some(within))
        .map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut reply = |command: &str| -> Result<Value, String> {
        writeln!(writer, "{{\"execute\":\"{command}\"}}").map_err(|e| e.to_string())?;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err(format!("QMP closed before answering {command}"));
            }
            let v: Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = v.get("error") {
                return Err(format!("QMP {command}: {e}"));
            }
            // The greeting and asynchronous events come first.
        }
    };
    reply("qmp_capabilities")?;
    threads(&reply("query-cpus-fast")?)
}

/// Thread ids from a `query-cpus-fast` answer, ordered by `cpu-index`.
fn threads(answer: &Value) -> Result<Vec<i32>, String> {
    let mut cpus: Vec<(i64, i32)> = answer
        .as_array()
        .ok_or("query-cpus-fast: not a list")?
        .iter()
        .map(|c| {
            let index = c.get("cpu-index").and_then(Value::as_i64);
            let tid = c
                .get("thread-id")
                .and_then(Value::as_i64)
                .and_then(|t| i32::try_from(t).ok());
            index
                .zip(tid)
                .ok_or_else(|| format!("query-cpus-fast: {c}"))
        })
        .collect::<Result<_, _>>()?;
    cpus.sort();
    Ok(cpus.into_iter().map(|(_, t)| t).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_threads_by_vcpu() {
        let v: Value = serde_json::from_str(
            r#"[{"cpu-index":1,"thread-id":502,"target":"x86_64"},{"cpu-index":0,"thread-id":501}]"#,
        )
        .unwrap();
        assert_eq!(threads(&v).unwrap(), vec![501, 502]);
        assert!(threads(&serde_json::json!([{"cpu-index": 0}])).is_err());
    }
}
