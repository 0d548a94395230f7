use super::*;

#[test]
fn payload_header_round_trips_and_rejects_strangers() {
    let mut buf = [0u8; 22];
    write_payload(&mut buf, 1, 77, 123_456_789);
    set_payload_a2b(&mut buf, 4242);
    assert_eq!(parse_payload(&buf), Some((1, 77, 123_456_789, 4242)));
    assert_eq!(parse_payload(&buf[..10]), None);
    buf[0] = 0;
    assert_eq!(parse_payload(&buf), None);
    assert_eq!(udp_overhead(false) + 22, 64);
}
