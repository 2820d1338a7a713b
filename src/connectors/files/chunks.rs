//! A relayed file cut into MQTT chunks, pure.
//!
//! Each chunk is the `data` of one chunk event (`fax.file`, …): `file_id`, the item's id
//! under the connector's key (`fax_id`, …), `index` (from 0),
//! `count`, `offset`, `bytes` (of this chunk), `total_bytes`, and the chunk itself as
//! standard base64 in `data`. The first and the last chunk also carry `sha256` (hex) of
//! the whole file, so the cloud can verify the reassembled file whichever chunk it saw
//! first. An empty file is one chunk with no data.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    crate::event::to_hex(&Sha256::digest(data))
}

/// What identifies the file in every chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef<'a> {
    pub file_id: &'a str,
    /// The key naming the item (`fax_id`) and its value.
    pub item: (&'a str, &'a str),
    pub sha256: &'a str,
}

/// How many chunks of `chunk_bytes` a file of `len` bytes makes.
pub fn chunk_count(len: usize, chunk_bytes: usize) -> usize {
    len.div_ceil(chunk_bytes.max(1)).max(1)
}

/// The `data` of chunk `index` of `file`.
pub fn chunk_at(file: &FileRef<'_>, data: &[u8], chunk_bytes: usize, index: usize) -> Value {
    let chunk_bytes = chunk_bytes.max(1);
    let count = chunk_count(data.len(), chunk_bytes);
    let start = (index * chunk_bytes).min(data.len());
    let piece = &data[start..(start + chunk_bytes).min(data.len())];
    let mut v = json!({
        "file_id": file.file_id, "index": index, "count": count,
        "offset": start, "bytes": piece.len(), "total_bytes": data.len(),
        "data": base64::engine::general_purpose::STANDARD.encode(piece),
    });
    v[file.item.0] = json!(file.item.1);
    if index == 0 || index + 1 == count {
        v["sha256"] = json!(file.sha256);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every chunk of `file`, in order.
    fn chunk_data(file: &FileRef<'_>, data: &[u8], chunk_bytes: usize) -> Vec<Value> {
        (0..chunk_count(data.len(), chunk_bytes)).map(|i| chunk_at(file, data, chunk_bytes, i)).collect()
    }

    #[test]
    fn sha256_matches_the_fips_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn chunks_reassemble_to_the_file_and_carry_the_hash_first_and_last() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let sha = sha256_hex(&data);
        let file = FileRef { file_id: "f1", item: ("fax_id", "1001"), sha256: &sha };
        let chunks = chunk_data(&file, &data, 4096);
        assert_eq!(chunks.len(), 3);
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut joined = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!((c["index"].as_u64(), c["count"].as_u64()), (Some(i as u64), Some(3)));
            assert_eq!(c["offset"].as_u64(), Some(joined.len() as u64));
            joined.extend(b64.decode(c["data"].as_str().expect("data")).expect("base64"));
        }
        assert_eq!(joined, data);
        assert_eq!(chunks[1]["fax_id"], "1001", "every chunk names its item");
        assert_eq!(chunks[0]["sha256"], sha);
        assert_eq!(chunks[2]["sha256"], sha);
        assert!(chunks[1].get("sha256").is_none());
        assert_eq!(chunks[2]["bytes"], 10_000 - 8192);
    }

    #[test]
    fn an_empty_file_is_one_empty_chunk() {
        let file = FileRef { file_id: "f", item: ("fax_id", "1"), sha256: "e3b0" };
        let chunks = chunk_data(&file, &[], 4096);
        assert_eq!(chunks.len(), 1);
        assert_eq!((chunks[0]["data"].as_str(), chunks[0]["count"].as_u64()), (Some(""), Some(1)));
    }
}
