//! Replays the saved fuzz corpus of proto's targets (`fuzz/corpus/h2_frames`,
//! `fuzz/corpus/hpack_blocks`, `fuzz/corpus/rpc_frames`) through the same checks the cargo-fuzz
//! targets run (`fuzzing`), on stable Rust. A missing or thin corpus fails:
//! it is part of the repository.

mod fuzzing;

use prost::Message;

use std::path::PathBuf;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{} holds only {} inputs", dir.display(), files.len());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        if std::panic::catch_unwind(|| f(&bytes)).is_err() {
            panic!("corpus input {} fails (reproduce: cargo fuzz run {target} {0})", path.display());
        }
    }
}

#[test]
fn h2_frames_corpus() {
    replay("h2_frames", fuzzing::h2_frames);
}

#[test]
fn hpack_blocks_corpus() {
    replay("hpack_blocks", fuzzing::hpack_blocks);
}

#[test]
fn rpc_frames_corpus() {
    replay("rpc_frames", fuzzing::rpc_frames);
}

#[test]
fn rpc_frames_sample_inputs_pass_the_checks() {
    let mut f = Vec::new();
    proto::frame::encode_into(&proto::pb::Request { call_id: 7, ..Default::default() }.encode_to_vec(), &mut f);
    fuzzing::rpc_frames(&f);
    fuzzing::rpc_frames(&f[..3]);
    fuzzing::rpc_frames(&[1, 0, 0, 0, 0]);
    fuzzing::rpc_frames(&[0, 0xff, 0xff, 0xff, 0xff]);
    fuzzing::rpc_frames(b"");
}
