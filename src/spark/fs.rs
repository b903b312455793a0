//! The simulated file system jobs read and write (`sc.textFile`, `saveAsTextFile`), with
//! Hadoop's rules for how text files are split into partitions and where output goes.
//!
//! ```text
//! textFile(path, minPartitions) ─▶ files (a directory: its visible files) ─▶ FileInputFormat
//!   splits (goalSize = total / minPartitions, SPLIT_SLOP 1.1) ─▶ LineRecordReader lines
//! saveAsTextFile(dir) ─▶ dir/part-00000 … one per partition, dir/_SUCCESS
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `fs.local.block.size`: the local file system's block size (32 MB).
pub const LOCAL_BLOCK_SIZE: u64 = 32 * 1024 * 1024;
/// `io.bytes.per.checksum`: the chunk each CRC in a `.crc` file covers.
const BYTES_PER_CHECKSUM: usize = 512;

/// CRC-32 (IEEE 802.3, reflected, as zlib and `java.util.zip.CRC32`).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// `FileInputFormat.SPLIT_SLOP`: the last split may be up to 10% larger than the others.
const SPLIT_SLOP: f64 = 1.1;

/// Files by absolute path (`/data/words.txt`); directories exist implicitly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimFs {
    pub files: BTreeMap<String, Vec<u8>>,
}

/// One input split: a byte range of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub path: String,
    pub start: u64,
    pub length: u64,
}

fn normalize(path: &str) -> String {
    let p = path.strip_prefix("file:").unwrap_or(path);
    let trimmed = p.trim_end_matches('/');
    if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// Hadoop's hidden-file filter: names starting with `_` or `.` are not input.
fn visible(name: &str) -> bool {
    !(name.starts_with('_') || name.starts_with('.'))
}

impl SimFs {
    pub fn write(&mut self, path: &str, contents: impl Into<Vec<u8>>) {
        self.files.insert(normalize(path), contents.into());
    }

    pub fn read(&self, path: &str) -> Option<&[u8]> {
        self.files.get(&normalize(path)).map(Vec::as_slice)
    }

    pub fn exists(&self, path: &str) -> bool {
        let p = normalize(path);
        self.files.contains_key(&p) || self.files.keys().any(|k| k.starts_with(&format!("{p}/")))
    }

    /// Removes a file; false if there is none.
    pub fn remove(&mut self, path: &str) -> bool {
        self.files.remove(&normalize(path)).is_some()
    }

    /// Removes a directory and everything under it (or a file); false if nothing was there.
    pub fn remove_tree(&mut self, path: &str) -> bool {
        let p = normalize(path);
        let under = format!("{p}/");
        let before = self.files.len();
        self.files.retain(|k, _| *k != p && !k.starts_with(&under));
        self.files.len() < before
    }

    /// Direct children of a directory, in name order.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{}/", normalize(dir));
        let mut names: Vec<String> = self
            .files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        names.dedup();
        names
    }

    /// The input files of `textFile(paths)`: comma-separated paths, each a file or a
    /// directory of visible files. Errors with Hadoop's message for a missing path.
    pub fn input_files(&self, paths: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for p in paths.split(',') {
            let path = normalize(p);
            if self.files.contains_key(&path) {
                out.push(path);
            } else if self.exists(&path) {
                for name in self.list(&path).into_iter().filter(|n| visible(n)) {
                    let full = format!("{path}/{name}");
                    if self.files.contains_key(&full) {
                        out.push(full);
                    }
                }
            } else {
                return Err(format!("Input path does not exist: file:{path}"));
            }
        }
        Ok(out)
    }

    /// `FileInputFormat.getSplits(job, numSplits = minPartitions)`.
    pub fn splits(&self, files: &[String], min_partitions: u32) -> Vec<Split> {
        let total: u64 = files.iter().map(|f| self.files[f].len() as u64).sum();
        let goal = total / u64::from(min_partitions.max(1));
        let split_size = goal.clamp(1, LOCAL_BLOCK_SIZE);
        let mut out = Vec::new();
        for f in files {
            let length = self.files[f].len() as u64;
            if length == 0 {
                out.push(Split { path: f.clone(), start: 0, length: 0 });
                continue;
            }
            let mut remaining = length;
            while remaining as f64 / split_size as f64 > SPLIT_SLOP {
                out.push(Split { path: f.clone(), start: length - remaining, length: split_size });
                remaining -= split_size;
            }
            if remaining != 0 {
                out.push(Split { path: f.clone(), start: length - remaining, length: remaining });
            }
        }
        out
    }

    /// `LineRecordReader` over one split: the lines that start inside it (a split after the
    /// first skips the line it starts in; every split reads one line past its end).
    pub fn read_split(&self, split: &Split) -> Vec<String> {
        let data = &self.files[&split.path];
        let end = split.start + split.length;
        let mut pos = split.start as usize;
        if split.start != 0 {
            // Throw away the (partial) first line: the previous split read it.
            match data[pos..].iter().position(|&b| b == b'\n') {
                Some(i) => pos += i + 1,
                None => return Vec::new(),
            }
        }
        let mut lines = Vec::new();
        while pos < data.len() && pos as u64 <= end {
            let line_end = data[pos..].iter().position(|&b| b == b'\n').map_or(data.len(), |i| pos + i);
            let mut line = &data[pos..line_end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            lines.push(String::from_utf8_lossy(line).into_owned());
            pos = line_end + 1;
        }
        lines
    }

    /// `saveAsTextFile`: `dir/part-NNNNN` per partition and `dir/_SUCCESS`; an existing
    /// directory is Hadoop's FileAlreadyExistsException.
    pub fn save_text(&mut self, dir: &str, partitions: &[Vec<String>]) -> Result<(), String> {
        let d = normalize(dir);
        if self.exists(&d) {
            return Err(format!(
                "org.apache.hadoop.mapred.FileAlreadyExistsException: Output directory file:{d} already exists"
            ));
        }
        for (i, lines) in partitions.iter().enumerate() {
            let mut text = String::new();
            for l in lines {
                text.push_str(l);
                text.push('\n');
            }
            self.write_checksummed(&format!("{d}/part-{i:05}"), text.into_bytes());
        }
        self.write_checksummed(&format!("{d}/_SUCCESS"), Vec::new());
        Ok(())
    }

    /// Hadoop's local `ChecksumFileSystem`: the file, and beside it `.<name>.crc` holding
    /// `crc\0`, the bytes per checksum (512) and a CRC-32 of every 512-byte chunk.
    fn write_checksummed(&mut self, path: &str, contents: Vec<u8>) {
        let mut crc = b"crc\0".to_vec();
        crc.extend_from_slice(&(BYTES_PER_CHECKSUM as u32).to_be_bytes());
        for chunk in contents.chunks(BYTES_PER_CHECKSUM) {
            crc.extend_from_slice(&crc32(chunk).to_be_bytes());
        }
        let (dir, name) = path.rsplit_once('/').expect("absolute path");
        self.files.insert(format!("{dir}/.{name}.crc"), crc);
        self.files.insert(path.to_string(), contents);
    }

    /// The error `saveAsTextFile(dir)` fails with before any job runs, if `dir` exists.
    pub fn check_output_dir(&self, dir: &str) -> Result<(), String> {
        let d = normalize(dir);
        if self.exists(&d) {
            return Err(format!("Output directory file:{d} already exists"));
        }
        Ok(())
    }
}

/// The data sets bundled with the playground, under `/data/` (`sc.textFile("/data/words.txt")`):
/// the ones the PySpark fixtures were recorded with.
pub const BUNDLED_DATA: &[(&str, &str)] = &[
    ("words.txt", include_str!("../../static/data/words.txt")),
    ("people.csv", include_str!("../../static/data/people.csv")),
];

/// A file system holding the bundled data sets.
pub fn bundled() -> SimFs {
    let mut fs = SimFs::default();
    for (name, text) in BUNDLED_DATA {
        fs.write(&format!("/data/{name}"), text.as_bytes().to_vec());
    }
    fs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled words.txt of the PySpark fixtures: 16 lines, 812 bytes.
    fn words() -> SimFs {
        let mut fs = SimFs::default();
        let text = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pyspark/data/words.txt"))
            .expect("fixture data");
        fs.write("/data/words.txt", text);
        fs
    }

    fn counts(fs: &SimFs, min_partitions: u32) -> Vec<usize> {
        let files = fs.input_files("/data/words.txt").unwrap();
        fs.splits(&files, min_partitions).iter().map(|s| fs.read_split(s).len()).collect()
    }

    #[test]
    fn splits_and_lines_match_pyspark_textfile() {
        // Recorded from PySpark 4.0.5 (tests/fixtures/pyspark/textfile.out).
        let fs = words();
        assert_eq!(counts(&fs, 2), vec![9, 7]);
        assert_eq!(counts(&fs, 1), vec![16]);
        assert_eq!(counts(&fs, 3), vec![7, 4, 5]);
        assert_eq!(counts(&fs, 5), vec![4, 4, 2, 3, 3]);
        assert_eq!(counts(&fs, 16), vec![2, 1, 1, 0, 2, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0]);
    }

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn save_then_read_back_and_refuse_an_existing_directory() {
        let mut fs = SimFs::default();
        fs.save_text("/out", &[vec![], vec!["a".into()], vec![], vec!["b".into()]]).unwrap();
        let visible: Vec<String> = fs.list("/out").into_iter().filter(|n| !n.starts_with('.')).collect();
        assert_eq!(visible, vec!["_SUCCESS", "part-00000", "part-00001", "part-00002", "part-00003"]);
        assert_eq!(fs.read("/out/.part-00001.crc"), Some(&b"crc\0\0\0\x02\0\xdd\xea\xa1\x07"[..]));
        assert_eq!(fs.read("/out/part-00001"), Some(&b"a\n"[..]));
        let files = fs.input_files("/out").unwrap();
        assert_eq!(files.len(), 4, "_SUCCESS is hidden");
        let err = fs.save_text("/out", &[]).unwrap_err();
        assert_eq!(
            err,
            "org.apache.hadoop.mapred.FileAlreadyExistsException: Output directory file:/out already exists"
        );
        assert!(fs.input_files("/nope").unwrap_err().starts_with("Input path does not exist"));
    }
}

