//! Inputs and the reading floor shared by the benchmarks.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// Returns the large pair, smaller first. Panics with the command to run when
/// the files are missing, so the benchmark never runs on other inputs.
pub fn inputs() -> (PathBuf, PathBuf) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bigstacks");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.to_string_lossy().ends_with(".pb.gz"));
    files.sort();
    assert!(
        files.len() == 2,
        "{} must hold the two large profiles; run testdata/bigstacks.sh first",
        folder.display()
    );
    (files[0].clone(), files[1].clone())
}

/// Gunzips the file and walks every top-level protobuf field once, touching
/// each byte of each field: the floor for reading.
pub fn gunzip_and_walk(path: &Path) -> u64 {
    let file = std::fs::File::open(path).expect("open profile");
    let mut data = Vec::new();
    MultiGzDecoder::new(std::io::BufReader::new(file))
        .read_to_end(&mut data)
        .expect("gunzip");
    let mut buf = data.as_slice();
    let mut checksum = 0u64;
    while !buf.is_empty() {
        let key = prost::encoding::decode_varint(&mut buf).expect("key");
        let len = match key & 7 {
            0 => {
                prost::encoding::decode_varint(&mut buf).expect("varint");
                continue;
            }
            2 => prost::encoding::decode_varint(&mut buf).expect("length") as usize,
            other => panic!("unexpected wire type {other}"),
        };
        checksum = buf[..len]
            .iter()
            .fold(checksum, |sum, &b| sum.wrapping_add(u64::from(b)));
        buf = &buf[len..];
    }
    checksum
}
