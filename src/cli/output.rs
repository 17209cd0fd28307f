//! Output files of the commands that write one (`flamegraph -o`, `gate -o`
//! and `gate --write-baseline`). A file is written as a temporary file in the
//! same folder and renamed over the destination once complete, so a failed
//! run leaves no partial file. The destination is checked before any profile
//! is read, so a path that cannot be written fails first.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use tempfile::NamedTempFile;

use super::write_stdout;

/// Messages for the two rejected destinations whose wording differs between
/// commands. Each follows "PATH: ".
pub(crate) struct Rejections {
    /// The destination is one of the command's inputs.
    pub is_input: &'static str,
    /// The destination is a directory.
    pub is_directory: &'static str,
}

/// A destination file, written through a temporary file in its folder.
/// Dropping an `OutputFile` before [`OutputFile::write`] finishes deletes the
/// temporary file.
pub(crate) struct OutputFile {
    path: PathBuf,
    temp: NamedTempFile,
}

impl OutputFile {
    /// Checks the destination and creates the temporary file. Rejects a path
    /// that names one of `inputs` (through links or `..` too), a directory,
    /// or a file in a folder that does not exist.
    pub(crate) fn create(
        path: &Path,
        inputs: &[&Path],
        rejections: &Rejections,
    ) -> Result<OutputFile> {
        if inputs.iter().any(|input| same_file(path, input)) {
            bail!("{}: {}", path.display(), rejections.is_input);
        }
        if path.is_dir() {
            bail!("{}: {}", path.display(), rejections.is_directory);
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            bail!(
                "{}: cannot write the output: folder {} does not exist",
                path.display(),
                folder.display()
            );
        }
        let temp = temp_file_in(folder).with_context(|| {
            format!(
                "{}: cannot write the output: failed to create a file in {}",
                path.display(),
                folder.display()
            )
        })?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            temp,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `write` on the temporary file, flushes it to disk, then renames
    /// it over the destination.
    pub(crate) fn write(self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        let OutputFile { path, mut temp } = self;
        let fail = |e: io::Error| anyhow!("{}: failed to write: {e}", path.display());
        let mut out = BufWriter::new(temp.as_file_mut());
        write(&mut out).map_err(fail)?;
        out.flush().map_err(fail)?;
        drop(out);
        temp.as_file().sync_all().map_err(fail)?;
        temp.persist(&path).map_err(|e| {
            anyhow!(
                "{}: failed to replace the file: {}",
                path.display(),
                e.error
            )
        })?;
        Ok(())
    }
}

/// Destination of an output that may go to standard output.
pub(crate) enum Output {
    Stdout,
    File(OutputFile),
}

impl Output {
    /// Returns [`Output::Stdout`] for the path `-`, else checks the path as
    /// [`OutputFile::create`] does.
    pub(crate) fn create(path: &Path, inputs: &[&Path], rejections: &Rejections) -> Result<Output> {
        if path.as_os_str() == "-" {
            return Ok(Output::Stdout);
        }
        OutputFile::create(path, inputs, rejections).map(Output::File)
    }

    /// Runs `write` on standard output, or on the file as
    /// [`OutputFile::write`] does.
    pub(crate) fn write(self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        match self {
            Output::Stdout => write_stdout(write),
            Output::File(file) => file.write(write),
        }
    }
}

/// Creates a temporary file in `folder` with mode 0666 less the umask, like a
/// file created by the shell. tempfile's default mode, 0600, would make the
/// renamed output unreadable to other users.
fn temp_file_in(folder: &Path) -> io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pprof-chain-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(folder)
}

/// True when both paths name the same file, through links or `..` too.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REJECTIONS: Rejections = Rejections {
        is_input: "is an input",
        is_directory: "is a directory",
    };

    #[test]
    fn file_replaces_destination_and_leaves_no_temp() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("out.txt");
        fs::write(&path, "old").expect("write old file");
        let file = OutputFile::create(&path, &[], &REJECTIONS).expect("create");
        file.write(|out| out.write_all(b"new")).expect("write");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list folder")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["out.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn file_mode_matches_plain_create() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temporary folder");
        let plain = dir.path().join("plain.txt");
        fs::File::create(&plain).expect("create plain file");
        let path = dir.path().join("out.txt");
        let file = OutputFile::create(&path, &[], &REJECTIONS).expect("create");
        file.write(|out| out.write_all(b"x")).expect("write");
        let mode = |path: &Path| {
            let mode = fs::metadata(path).expect("metadata").permissions().mode();
            format!("{:o}", mode & 0o777)
        };
        // Both are 0666 less the umask, but tempfile alone would give 0600.
        assert_eq!(mode(&path), mode(&plain));
    }

    #[test]
    fn input_named_another_way_rejected() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let input = dir.path().join("heap.pb.gz");
        fs::write(&input, "profile").expect("write input");
        let other_name = dir.path().join(".").join("heap.pb.gz");
        let error = OutputFile::create(&other_name, &[&input], &REJECTIONS)
            .err()
            .expect("rejected");
        assert!(error.to_string().ends_with(": is an input"), "{error}");
    }

    #[test]
    fn dash_means_stdout() {
        let dash = Path::new("-");
        let output = Output::create(dash, &[], &REJECTIONS).expect("create");
        assert!(matches!(output, Output::Stdout));
    }
}
