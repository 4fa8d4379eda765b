//! Unit tests of `services::infra::migrations`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

#[test]
fn versions_are_strictly_increasing_from_one() {
    assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(MIGRATIONS[0].0, 1);
}

#[test]
fn version_one_is_the_released_skeleton() {
    // Released versions are frozen: this catches an accidental edit.
    let normalised: String = V1.split_whitespace().collect::<Vec<_>>().join(" ");
    // FNV-1a of the whitespace-normalised SQL.
    let hash =
        normalised.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    assert_eq!(hash, 16_287_736_278_528_538_158, "migration 1 was edited; add a new version instead");
}
