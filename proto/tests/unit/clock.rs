//! Unit tests of `clock`: the formatted forms of known instants, a leap day among them.

use super::*;
#[test]
fn formats_known_instants() {
    // 2018-11-22T00:57:10.560Z
    let ms = 1_542_848_230_560;
    assert_eq!(iso8601(ms), "2018-11-22T00:57:10.560Z");
    assert_eq!(clf(ms), "22/Nov/2018:00:57:10 +0000");
    assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
    // A leap day.
    assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
}
