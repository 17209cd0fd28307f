//! The recording folder: numbered snapshot files and `manifest.json`, both
//! written to a temporary file first and renamed into place, so that a reader
//! (or a crash) never reads a half-written file and the manifest lists only
//! complete snapshots.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// File name of the manifest; `trend` reads the same name.
pub const MANIFEST: &str = "manifest.json";

/// Manifest format version this module writes and appends to.
pub const MANIFEST_VERSION: u64 = 1;

/// Prefix of temporary files; a folder holding only such files (left by an
/// aborted run) still counts as empty.
const TEMP_PREFIX: &str = ".tmp-";

/// Digits of the sequence number in file names: 6 keeps names in order up to
/// 999,999 snapshots.
const INDEX_DIGITS: usize = 6;

/// The manifest: the snapshots in the order they were taken. Fields this
/// version does not know are kept when the manifest is rewritten.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u64,
    pub snapshots: Vec<Entry>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One snapshot file of the manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// File name inside the folder.
    pub file: String,
    /// Profile kind: `heap` or `goroutine`.
    pub kind: String,
    /// Tasks the service had handled, from the task metric.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "whole_number"
    )]
    pub tasks: Option<f64>,
    /// When the heap profile's response arrived, in nanoseconds since the
    /// Unix epoch; the goroutine profile of the same snapshot gets the same
    /// time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unix_nanos: Option<i64>,
    /// URL the profile was fetched from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Size of the file, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// Writes a task count as an integer when it is one (`1234`, not `1234.0`).
fn whole_number<S: serde::Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 9e15 => serializer.serialize_i64(*v as i64),
        Some(v) => serializer.serialize_f64(*v),
        None => serializer.serialize_none(),
    }
}

/// Handling of a folder that already contains a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    Reject,
    Append,
}

/// Error that prevents recording into the folder.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("{}: already contains a recording of {count} files ({MANIFEST}); add --append to add snapshots to it, or choose a new folder", .path.display())]
    HasRecording { path: PathBuf, count: usize },
    #[error("{}: the folder is not empty and has no {MANIFEST}; record into a new or empty folder", .path.display())]
    NotEmpty { path: PathBuf },
    #[error("{}: not a folder", .path.display())]
    NotAFolder { path: PathBuf },
    #[error("{}: invalid manifest: {reason}", .path.display())]
    InvalidManifest { path: PathBuf, reason: String },
    #[error("{}: manifest version {version} is not supported; this pprof-chain appends to version {MANIFEST_VERSION}", .path.display())]
    UnsupportedVersion { path: PathBuf, version: u64 },
    #[error("{}: already exists; snapshots are never overwritten", .path.display())]
    WouldOverwrite { path: PathBuf },
    #[error("{}: failed to {action}: {error}", .path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> FolderError {
    let path = path.to_path_buf();
    move |error| FolderError::Io {
        path,
        action,
        error,
    }
}

/// A folder being recorded into.
#[derive(Debug)]
pub struct Folder {
    path: PathBuf,
    manifest: Manifest,
    next_index: u64,
    /// True when [`Folder::open`] created the folder.
    created: bool,
}

/// A snapshot file to add: its kind, contents and manifest details.
pub struct NewFile<'a> {
    pub kind: &'a str,
    pub data: &'a [u8],
    pub url: &'a str,
}

impl Folder {
    /// Opens `path` for recording: creates it when missing, accepts an empty
    /// folder, and continues a folder with a manifest only when `existing`
    /// is [`Existing::Append`].
    pub fn open(path: &Path, existing: Existing) -> Result<Folder, FolderError> {
        let created = !path.exists();
        if created {
            fs::create_dir_all(path).map_err(io_error(path, "create the folder"))?;
        } else if !path.is_dir() {
            return Err(FolderError::NotAFolder {
                path: path.to_path_buf(),
            });
        }
        let manifest_path = path.join(MANIFEST);
        let manifest = if manifest_path.is_file() {
            let manifest = read_manifest(&manifest_path)?;
            if existing == Existing::Reject {
                return Err(FolderError::HasRecording {
                    path: path.to_path_buf(),
                    count: manifest.snapshots.len(),
                });
            }
            manifest
        } else {
            if has_other_files(path)? {
                return Err(FolderError::NotEmpty {
                    path: path.to_path_buf(),
                });
            }
            Manifest {
                version: MANIFEST_VERSION,
                snapshots: Vec::new(),
                other: BTreeMap::new(),
            }
        };
        let next_index = next_index(path, &manifest)?;
        Ok(Folder {
            path: path.to_path_buf(),
            manifest,
            next_index,
            created,
        })
    }

    /// Removes the folder when [`Folder::open`] created it and nothing was
    /// saved in it, so a run that failed at once leaves no empty folder.
    /// A folder that is not empty is left as it is.
    pub fn remove_if_unused(&self) {
        if self.created && self.manifest.snapshots.is_empty() {
            // remove_dir fails on a folder with files in it, which is the
            // intended outcome, so the error is ignored.
            let _ = fs::remove_dir(&self.path);
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Sequence number the next snapshot's files get.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Writes the files of one snapshot under the next sequence number, then
    /// the manifest listing them. Returns the new entries.
    pub fn add_snapshot(
        &mut self,
        files: &[NewFile<'_>],
        tasks: Option<f64>,
        unix_nanos: i64,
    ) -> Result<&[Entry], FolderError> {
        let index = self.next_index;
        let mut entries = Vec::with_capacity(files.len());
        for file in files {
            let name = file_name(file.kind, index);
            let target = self.path.join(&name);
            if target.exists() {
                return Err(FolderError::WouldOverwrite { path: target });
            }
            write_atomic(&self.path, &name, file.data)?;
            entries.push(Entry {
                file: name,
                kind: file.kind.to_string(),
                tasks,
                unix_nanos: Some(unix_nanos),
                url: Some(file.url.to_string()),
                bytes: Some(file.data.len() as u64),
                other: BTreeMap::new(),
            });
        }
        let first_new = self.manifest.snapshots.len();
        self.manifest.snapshots.extend(entries);
        let text = serde_json::to_vec_pretty(&self.manifest).map_err(|e| {
            FolderError::InvalidManifest {
                path: self.path.join(MANIFEST),
                reason: e.to_string(),
            }
        })?;
        if let Err(error) = write_atomic(&self.path, MANIFEST, &text) {
            self.manifest.snapshots.truncate(first_new);
            return Err(error);
        }
        self.next_index += 1;
        Ok(&self.manifest.snapshots[first_new..])
    }
}

/// File name of a snapshot: `heap-000001.pb.gz`.
pub fn file_name(kind: &str, index: u64) -> String {
    format!("{kind}-{index:0width$}.pb.gz", width = INDEX_DIGITS)
}

fn read_manifest(path: &Path) -> Result<Manifest, FolderError> {
    let text = fs::read_to_string(path).map_err(io_error(path, "read the manifest"))?;
    let invalid = |reason: String| FolderError::InvalidManifest {
        path: path.to_path_buf(),
        reason,
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let version = value.get("version").and_then(Value::as_u64);
    match version {
        Some(MANIFEST_VERSION) => {}
        Some(version) => {
            return Err(FolderError::UnsupportedVersion {
                path: path.to_path_buf(),
                version,
            })
        }
        None => {
            return Err(invalid(
                "\"version\" is missing or not a number".to_string(),
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

/// True when the folder has an entry other than temporary files.
fn has_other_files(path: &Path) -> Result<bool, FolderError> {
    let entries = fs::read_dir(path).map_err(io_error(path, "list the folder"))?;
    for entry in entries {
        let entry = entry.map_err(io_error(path, "list the folder"))?;
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Returns one more than the highest sequence number among the manifest's entries
/// and the snapshot files in the folder. Files that the manifest does not
/// list (a run that died between writing a file and the manifest) are
/// counted too, so their names are never reused.
fn next_index(path: &Path, manifest: &Manifest) -> Result<u64, FolderError> {
    let mut highest = manifest
        .snapshots
        .iter()
        .filter_map(|entry| sequence_number(&entry.file))
        .max()
        .unwrap_or(0);
    let entries = fs::read_dir(path).map_err(io_error(path, "list the folder"))?;
    for entry in entries.flatten() {
        if let Some(number) = sequence_number(&entry.file_name().to_string_lossy()) {
            highest = highest.max(number);
        }
    }
    Ok(highest + 1)
}

/// Parses the number in `heap-000012.pb.gz`. Returns None for names of
/// another form.
fn sequence_number(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".pb.gz")?;
    let (_, digits) = stem.rsplit_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Writes `data` to `folder/name` through a temporary file in the same
/// folder, flushed to disk and then renamed, so `name` is either absent,
/// the old file, or the complete new one.
fn write_atomic(folder: &Path, name: &str, data: &[u8]) -> Result<(), FolderError> {
    let temp = folder.join(format!("{TEMP_PREFIX}{}-{name}", std::process::id()));
    let target = folder.join(name);
    let result = (|| {
        let mut file = File::create(&temp).map_err(io_error(&temp, "create"))?;
        file.write_all(data).map_err(io_error(&temp, "write"))?;
        file.sync_all().map_err(io_error(&temp, "flush to disk"))?;
        fs::rename(&temp, &target).map_err(io_error(&target, "rename the temporary file to"))
    })();
    if result.is_err() {
        // The temporary file may not exist; nothing more to report then.
        let _ = fs::remove_file(&temp);
    }
    result?;
    sync_folder(folder);
    Ok(())
}

/// Flushes the folder entry of a rename to disk. Not every platform can open
/// a folder for that, so failure is ignored: the rename itself has happened.
fn sync_folder(folder: &Path) {
    if let Ok(handle) = File::open(folder) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_sort_in_order() {
        assert_eq!(file_name("heap", 1), "heap-000001.pb.gz");
        assert!(file_name("heap", 9) < file_name("heap", 10));
    }

    #[test]
    fn sequence_number_reads_own_names_only() {
        assert_eq!(sequence_number("heap-000012.pb.gz"), Some(12));
        assert_eq!(sequence_number("goroutine-000003.pb.gz"), Some(3));
        assert_eq!(sequence_number("heap.pb.gz"), None);
        assert_eq!(sequence_number("heap-12a.pb.gz"), None);
        assert_eq!(sequence_number("manifest.json"), None);
    }

    fn add(folder: &mut Folder, tasks: f64) {
        let file = NewFile {
            kind: "heap",
            data: b"profile bytes",
            url: "http://127.0.0.1:1/debug/pprof/heap?gc=1",
        };
        folder
            .add_snapshot(&[file], Some(tasks), 1)
            .expect("snapshot saved");
    }

    #[test]
    fn open_rejects_existing_recording() {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut folder = Folder::open(temp.path(), Existing::Reject).expect("empty folder");
        add(&mut folder, 10.0);
        let error = Folder::open(temp.path(), Existing::Reject).expect_err("has a recording");
        assert!(
            matches!(error, FolderError::HasRecording { count: 1, .. }),
            "{error}"
        );
    }

    #[test]
    fn append_continues_after_orphan_files() {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut folder = Folder::open(temp.path(), Existing::Reject).expect("empty folder");
        add(&mut folder, 10.0);
        // A file that a killed run wrote but never listed keeps its number.
        fs::write(temp.path().join("heap-000005.pb.gz"), b"orphan").expect("write orphan");
        let mut folder = Folder::open(temp.path(), Existing::Append).expect("append");
        assert_eq!(folder.next_index(), 6);
        add(&mut folder, 20.0);
        let names: Vec<&str> = folder
            .manifest()
            .snapshots
            .iter()
            .map(|e| e.file.as_str())
            .collect();
        assert_eq!(names, ["heap-000001.pb.gz", "heap-000006.pb.gz"]);
        assert_eq!(
            fs::read(temp.path().join("heap-000005.pb.gz")).ok(),
            Some(b"orphan".to_vec())
        );
    }

    #[test]
    fn append_keeps_unknown_fields() {
        let temp = tempfile::tempdir().expect("temp dir");
        let manifest = r#"{"version": 1, "service": "api",
            "snapshots": [{"file": "heap-000001.pb.gz", "kind": "heap", "tasks": 5, "note": "x"}]}"#;
        fs::write(temp.path().join(MANIFEST), manifest).expect("write manifest");
        let mut folder = Folder::open(temp.path(), Existing::Append).expect("append");
        add(&mut folder, 20.0);
        let text = fs::read_to_string(temp.path().join(MANIFEST)).expect("manifest");
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(value["service"], "api");
        assert_eq!(value["snapshots"][0]["note"], "x");
        assert_eq!(value["snapshots"][1]["tasks"], 20);
    }

    #[test]
    fn open_rejects_other_manifest_versions() {
        let temp = tempfile::tempdir().expect("temp dir");
        fs::write(
            temp.path().join(MANIFEST),
            r#"{"version": 2, "snapshots": []}"#,
        )
        .expect("write manifest");
        let error = Folder::open(temp.path(), Existing::Append).expect_err("version 2");
        assert!(
            matches!(error, FolderError::UnsupportedVersion { version: 2, .. }),
            "{error}"
        );
    }

    #[test]
    fn open_ignores_temporary_files() {
        let temp = tempfile::tempdir().expect("temp dir");
        fs::write(temp.path().join(".tmp-123-heap-000001.pb.gz"), b"partial").expect("write");
        assert!(Folder::open(temp.path(), Existing::Reject).is_ok());
        fs::write(temp.path().join("notes.txt"), b"keep").expect("write");
        let error = Folder::open(temp.path(), Existing::Reject).expect_err("not empty");
        assert!(matches!(error, FolderError::NotEmpty { .. }), "{error}");
    }

    #[test]
    fn tasks_serialize_as_integers_when_whole() {
        let entry = Entry {
            file: "heap-000001.pb.gz".into(),
            kind: "heap".into(),
            tasks: Some(1234.0),
            unix_nanos: None,
            url: None,
            bytes: None,
            other: BTreeMap::new(),
        };
        let text = serde_json::to_string(&entry).expect("serializable");
        assert!(
            text.contains("\"tasks\":1234,") || text.ends_with("\"tasks\":1234}"),
            "{text}"
        );
        let fractional = Entry {
            tasks: Some(2.5),
            ..entry
        };
        let text = serde_json::to_string(&fractional).expect("serializable");
        assert!(text.contains("\"tasks\":2.5"), "{text}");
    }
}
