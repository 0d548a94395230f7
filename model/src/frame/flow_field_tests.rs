use super::*;

#[test]
fn flow_and_measured_round_trip() {
    assert_eq!(flow_field(0, false), 0);
    assert_eq!(flow_field(0, true), 1);
    for flow in [0, 1, 7, 63] {
        for m in [false, true] {
            let f = flow_field(flow, m);
            assert_eq!((flow_of(f), is_measured(f)), (flow, m));
        }
    }
}
