use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn spec(ipv6: bool, size: usize) -> FrameSpec {
    let (src_ip, dst_ip): (IpAddr, IpAddr) = if ipv6 {
        (
            Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1).into(),
            Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2).into(),
        )
    } else {
        (
            Ipv4Addr::new(198, 18, 0, 1).into(),
            Ipv4Addr::new(198, 18, 0, 2).into(),
        )
    };
    FrameSpec {
        src_mac: [2, 0x76, 0x62, 0, 0, 0xa],
        dst_mac: [2, 0x76, 0x62, 0, 0, 0xb],
        src_ip,
        dst_ip,
        src_port: 1234,
        dst_port: 9000,
        flow: 7,
        size,
    }
}

#[test]
fn builds_valid_frames_of_every_size() {
    let mut buf = [0u8; 9018];
    for ipv6 in [false, true] {
        for size in [min_size(ipv6), min_size(ipv6) + 1, 128, 1500, 1514, 9014] {
            let layout = build(&mut buf, &spec(ipv6, size)).unwrap();
            assert_eq!(layout.len, size);
            let p = parse(&buf[..size]).unwrap();
            assert_eq!((p.flow, p.seq, p.tx_ns, p.a2b_ns), (7, 0, 0, 0));
            assert_eq!(p.layout, layout);
            assert!(checksums_valid(&buf, &layout), "ipv6={ipv6} size={size}");
        }
    }
}

#[test]
fn ipv4_64_bytes_is_the_rfc2544_minimum() {
    assert_eq!(min_size(false), 62);
    assert!(min_size(false) <= 64);
    let mut buf = [0u8; 64];
    assert!(build(&mut buf, &spec(false, 64)).is_ok());
    let err = build(&mut buf, &spec(true, 64)).unwrap_err();
    assert!(
        err.to_string()
            .contains("--size 64: IPv6 frames carry 82..=64"),
        "{err}"
    );
}

#[test]
fn stamping_keeps_checksums_valid() {
    let mut buf = [0u8; 1514];
    for ipv6 in [false, true] {
        for size in [64.max(min_size(ipv6)), 333, 1514] {
            let layout = build(&mut buf, &spec(ipv6, size)).unwrap();
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            for _ in 0..2000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                stamp(
                    &mut buf,
                    &layout,
                    (x >> 48) as u16,
                    x as u32,
                    x.rotate_left(17),
                );
                assert!(
                    checksums_valid(&buf, &layout),
                    "ipv6={ipv6} size={size} x={x:#x}"
                );
                let p = parse(&buf[..size]).unwrap();
                assert_eq!(
                    (p.flow, p.seq, p.tx_ns),
                    ((x >> 48) as u16, x as u32, x.rotate_left(17))
                );
            }
            set_a2b(&mut buf, &layout, 12345);
            assert!(checksums_valid(&buf, &layout));
            assert_eq!(parse(&buf[..size]).unwrap().a2b_ns, 12345);
        }
    }
}

#[test]
fn swap_makes_the_reply() {
    let mut buf = [0u8; 200];
    for ipv6 in [false, true] {
        let s = spec(ipv6, 200);
        let layout = build(&mut buf, &s).unwrap();
        let mut reply = buf;
        swap_in_place(&mut reply, &layout);
        let mut expected = [0u8; 200];
        let swapped = FrameSpec {
            src_mac: s.dst_mac,
            dst_mac: s.src_mac,
            src_ip: s.dst_ip,
            dst_ip: s.src_ip,
            src_port: s.dst_port,
            dst_port: s.src_port,
            ..s
        };
        build(&mut expected, &swapped).unwrap();
        assert_eq!(reply, expected, "ipv6={ipv6}");
    }
}

#[test]
fn rejects_what_is_not_ours() {
    let mut buf = [0u8; 128];
    let layout = build(&mut buf, &spec(false, 128)).unwrap();
    assert_eq!(parse(&buf[..40]), Err(ParseError::Truncated));
    let mut bad = buf;
    bad[layout.header] = 0;
    assert_eq!(parse(&bad), Err(ParseError::NotOurs));
    let mut bad = buf;
    bad[23] = 6; // TCP
    assert_eq!(parse(&bad), Err(ParseError::NotUdp));
    let mut bad = buf;
    bad[layout.udp + 5] += 1;
    assert_eq!(parse(&bad), Err(ParseError::Length));
}

/// The parser never panics: valid frames with random mutations, truncations and pure noise.
#[test]
fn parser_survives_arbitrary_bytes() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut template = [0u8; 256];
    let mut seen_ok = 0;
    for round in 0..200_000 {
        let ipv6 = round % 2 == 0;
        let size = min_size(ipv6) + (next() % 100) as usize;
        build(&mut template, &spec(ipv6, size)).unwrap();
        let mut f = template;
        for _ in 0..(next() % 4) {
            let i = (next() % 256) as usize;
            f[i] = next() as u8;
        }
        if round % 7 == 0 {
            f.iter_mut().for_each(|b| *b = next() as u8);
        }
        let len = (next() % 257) as usize;
        if let Ok(p) = parse(&f[..len]) {
            assert!(p.layout.len <= len && p.layout.header + HEADER_LEN <= p.layout.len);
            seen_ok += 1;
        }
    }
    assert!(
        seen_ok > 1000,
        "the mutations should leave many frames parseable: {seen_ok}"
    );
}
