//! Unit tests of `status`: the gRPC code numbering round-trips.

use super::*;
#[test]
fn numbering_round_trips() {
    for n in 0..=16u32 {
        assert_eq!(Code::from_u32(n) as u32, n);
    }
    assert_eq!(Code::from_u32(99), Code::Unknown);
}
