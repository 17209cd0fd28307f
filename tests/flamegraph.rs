//! `pprof-chain flamegraph` driven as a user runs it, on real Go heap profiles.
//!
//! Reference numbers come from `go tool pprof` on the same files, as noted at
//! each one.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use assert_cmd::Command;
use predicates::prelude::*;

/// Heap snapshots of a worker pool that leaks one context per task, relative
/// to the crate root. The file name is the number of tasks handled.
const CTXCHAIN: &str = "../shared/fixtures/ctxchain";
/// A goroutine profile, to check that a diff rejects profiles of two kinds.
const GOROUTINE_PROFILE: &str = "../shared/public/node-exporter-goroutine.pb.gz";

fn ctxchain(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(CTXCHAIN)
        .join(name)
}

fn pprof_chain() -> Command {
    cargo_bin_cmd!("pprof-chain")
}

/// Runs `flamegraph ARGS -o -` and returns standard output.
fn stdout_of(args: &[&str]) -> String {
    let output = pprof_chain()
        .arg("flamegraph")
        .args(args)
        .args(["-o", "-"])
        .output()
        .expect("pprof-chain runs");
    assert!(
        output.status.success(),
        "pprof-chain failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("output is UTF-8")
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// One frame of an SVG flamegraph: the name and the value from its tooltip
/// (`context.WithValue (576,000 bytes, 11.95%)`), and its fill colour.
#[derive(Debug)]
struct SvgFrame {
    name: String,
    value: u64,
    tooltip: String,
    fill: String,
}

/// Parses an SVG; inferno writes a DOCTYPE, which roxmltree rejects by default.
fn parse_svg(svg: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(svg, options).expect("SVG parses as XML")
}

fn svg_frames(svg: &str) -> Vec<SvgFrame> {
    let document = parse_svg(svg);
    document
        .descendants()
        .filter(|node| node.has_tag_name("g"))
        .filter_map(|group| {
            let title = group.children().find(|n| n.has_tag_name("title"))?;
            let rect = group.children().find(|n| n.has_tag_name("rect"))?;
            let tooltip = title.text()?.to_string();
            let (name, figures) = tooltip.rsplit_once(" (")?;
            let count = figures.split(' ').next()?.replace(',', "");
            Some(SvgFrame {
                name: name.to_string(),
                value: count.parse().ok()?,
                tooltip: tooltip.clone(),
                fill: rect.attribute("fill")?.to_string(),
            })
        })
        .collect()
}

/// Sum of the values of every frame with this name.
fn frame_total(frames: &[SvgFrame], name: &str) -> u64 {
    frames
        .iter()
        .filter(|f| f.name == name)
        .map(|f| f.value)
        .sum()
}

fn svg_text_by_id(svg: &str, id: &str) -> String {
    let document = parse_svg(svg);
    document
        .descendants()
        .find(|node| node.attribute("id") == Some(id))
        .and_then(|node| node.text())
        .unwrap_or_default()
        .to_string()
}

/// Parses `rgb(r,g,b)`.
fn rgb(fill: &str) -> [u8; 3] {
    let inner = fill
        .strip_prefix("rgb(")
        .and_then(|rest| rest.strip_suffix(')'))
        .expect("fill is rgb(r,g,b)");
    let parts: Vec<u8> = inner
        .split(',')
        .map(|part| part.trim().parse().expect("colour component is a byte"))
        .collect();
    [parts[0], parts[1], parts[2]]
}

/// Sums the last number of every collapsed line.
fn folded_total(folded: &str) -> f64 {
    folded
        .lines()
        .map(|line| {
            let (_, value) = line.rsplit_once(' ').expect("line ends in a value");
            value.parse::<f64>().expect("value is a number")
        })
        .sum()
}

#[test]
fn svg_has_frames_with_pprof_values() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("heap.svg");
    let profile = ctxchain("heap-012000.pb.gz");
    pprof_chain()
        .args(["flamegraph", path_arg(&profile), "-o", path_arg(&out)])
        .assert()
        .success();
    let svg = fs::read_to_string(&out).expect("SVG written");
    let frames = svg_frames(&svg);

    // `go tool pprof -sample_index=inuse_space -unit=B -top heap-012000.pb.gz`:
    // total 4820408B; context.WithValue cum 576000B; main.pollEventsLeaky cum
    // 4801632B; main.addLogLabels (inline) cum 576000B; runtime.main cum 9136B.
    assert_eq!(frame_total(&frames, "all"), 4_820_408);
    assert_eq!(frame_total(&frames, "context.WithValue"), 576_000);
    assert_eq!(frame_total(&frames, "main.pollEventsLeaky"), 4_801_632);
    assert_eq!(frame_total(&frames, "(inline) main.addLogLabels"), 576_000);
    assert_eq!(frame_total(&frames, "runtime.main"), 9_136);
    let with_value = frames
        .iter()
        .find(|f| f.name == "context.WithValue")
        .expect("context.WithValue frame");
    assert_eq!(
        with_value.tooltip,
        "context.WithValue (576,000 bytes, 11.95%)"
    );

    let title = svg_text_by_id(&svg, "title");
    assert!(title.contains("heap-012000.pb.gz"), "title: {title}");
    assert!(title.contains("inuse_space"), "title: {title}");
    assert!(title.contains("total 4.60MB"), "title: {title}");
}

#[test]
fn svg_stacks_root_first() {
    let profile = ctxchain("heap-012000.pb.gz");
    let folded = stdout_of(&[path_arg(&profile), "--folded"]);
    let line = folded
        .lines()
        .find(|line| line.contains("context.WithValue"))
        .expect("a stack with context.WithValue");
    assert_eq!(
        line,
        "main.main.func1;main.pollEventsLeaky;main.addLogLabels (inline);context.WithValue 576000"
    );
}

#[test]
fn svg_inlined_frames_are_blue_green() {
    let profile = ctxchain("heap-012000.pb.gz");
    let frames = svg_frames(&stdout_of(&[path_arg(&profile)]));
    let inlined = frames
        .iter()
        .find(|f| f.name == "(inline) main.addLogLabels")
        .expect("inlined frame");
    let [red, green, blue] = rgb(&inlined.fill);
    assert!(blue > red, "fill {}", inlined.fill);
    assert!(green > red, "fill {}", inlined.fill);
    let caller = frames
        .iter()
        .find(|f| f.name == "main.pollEventsLeaky")
        .expect("caller frame");
    let [red, _, blue] = rgb(&caller.fill);
    assert!(red > blue, "fill {}", caller.fill);
}

#[test]
fn svg_objects_sample_type() {
    let profile = ctxchain("heap-012000.pb.gz");
    let svg = stdout_of(&[path_arg(&profile), "--sample", "inuse_objects"]);
    let frames = svg_frames(&svg);
    // `go tool pprof -sample_index=inuse_objects -top heap-012000.pb.gz`:
    // total 47822; context.WithValue 12000; main.pollEventsLeaky cum 47793.
    assert_eq!(frame_total(&frames, "all"), 47_822);
    assert_eq!(frame_total(&frames, "context.WithValue"), 12_000);
    assert_eq!(frame_total(&frames, "main.pollEventsLeaky"), 47_793);
    let with_value = frames
        .iter()
        .find(|f| f.name == "context.WithValue")
        .expect("context.WithValue frame");
    assert!(
        with_value.tooltip.contains("12,000 objects"),
        "tooltip: {}",
        with_value.tooltip
    );
}

#[test]
fn svg_names_shortened_unless_full() {
    let profile = ctxchain("heap-012000.pb.gz");
    let short = svg_frames(&stdout_of(&[path_arg(&profile)]));
    assert!(short.iter().any(|f| f.name == "pprof.writeHeapInternal"));
    assert!(!short.iter().any(|f| f.name.contains('/')));

    let full = svg_frames(&stdout_of(&[path_arg(&profile), "--full-names"]));
    assert!(full
        .iter()
        .any(|f| f.name == "runtime/pprof.writeHeapInternal"));
}

#[test]
fn folded_sums_to_profile_total() {
    let profile = ctxchain("heap-012000.pb.gz");
    // Totals from `go tool pprof -sample_index=TYPE -unit=B -top heap-012000.pb.gz`.
    for (sample, total) in [("inuse_space", 4_820_408.0), ("inuse_objects", 47_822.0)] {
        let folded = stdout_of(&[path_arg(&profile), "--folded", "--sample", sample]);
        assert_eq!(folded_total(&folded), total, "sample type {sample}");
    }
}

#[test]
fn folded_keeps_full_names() {
    let profile = ctxchain("heap-012000.pb.gz");
    let folded = stdout_of(&[path_arg(&profile), "--folded"]);
    assert!(folded.contains("runtime/pprof.writeHeapInternal"));
}

#[test]
fn diff_shows_growth_at_with_value() {
    let before = ctxchain("heap-002000.pb.gz");
    let after = ctxchain("heap-012000.pb.gz");
    let svg = stdout_of(&["--diff", path_arg(&before), path_arg(&after)]);
    let frames = svg_frames(&svg);
    let with_value = frames
        .iter()
        .find(|f| f.name == "context.WithValue")
        .expect("context.WithValue frame");
    // `go tool pprof -top` on the two files: context.WithValue has 96000B in use
    // after 2000 tasks and 576000B after 12000; the total after is 4820408B.
    // The growth of 480000B is +9.96% of the later total.
    assert_eq!(
        with_value.tooltip,
        "context.WithValue (576,000 bytes, 11.95%; +9.96%)"
    );
    let [red, green, blue] = rgb(&with_value.fill);
    assert_eq!(red, 255, "fill {}", with_value.fill);
    assert!(green < 250, "fill {}", with_value.fill);
    assert_eq!(green, blue, "fill {}", with_value.fill);
    let title = svg_text_by_id(&svg, "title");
    assert!(
        title.contains("heap-002000.pb.gz → heap-012000.pb.gz"),
        "title: {title}"
    );
}

#[test]
fn diff_folded_has_before_and_after() {
    let before = ctxchain("heap-002000.pb.gz");
    let after = ctxchain("heap-012000.pb.gz");
    let folded = stdout_of(&["--diff", path_arg(&before), path_arg(&after), "--folded"]);
    let line = folded
        .lines()
        .find(|line| line.ends_with(";context.WithValue 96000 576000"));
    assert!(line.is_some(), "folded diff:\n{folded}");
}

#[test]
fn diff_per_task_from_names() {
    let before = ctxchain("heap-002000.pb.gz");
    let after = ctxchain("heap-012000.pb.gz");
    let args = [
        "--diff",
        path_arg(&before),
        path_arg(&after),
        "--tasks-from-names",
    ];
    let folded = stdout_of(&[&args[..], &["--folded"]].concat());
    let line = folded
        .lines()
        .find(|line| line.contains(";context.WithValue "))
        .expect("a stack with context.WithValue");
    let values: Vec<f64> = line
        .rsplit(' ')
        .take(2)
        .map(|v| v.parse().expect("value is a number"))
        .collect();
    // 96000B and 576000B divided by the 10000 tasks between the snapshots:
    // 48 bytes per task, one 48-byte context per task.
    assert_eq!(values, [57.6, 9.6]);

    let svg = stdout_of(&args);
    let title = svg_text_by_id(&svg, "title");
    // (4820408B - 814448B) / 10000 tasks, totals from `go tool pprof -top`.
    assert!(title.contains("+400.60B per task"), "title: {title}");
    let subtitle = svg_text_by_id(&svg, "subtitle");
    assert!(
        subtitle.contains("10000 tasks (2000 → 12000"),
        "subtitle: {subtitle}"
    );
}

#[test]
fn diff_rejects_tasks_that_shrink() {
    let before = ctxchain("heap-002000.pb.gz");
    let after = ctxchain("heap-012000.pb.gz");
    pprof_chain()
        .args(["flamegraph", "--diff", path_arg(&before), path_arg(&after)])
        .args(["--tasks", "12000,2000", "-o", "-"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("task counts must grow"));
}

#[test]
fn tasks_without_diff_rejected() {
    let profile = ctxchain("heap-012000.pb.gz");
    for option in [&["--tasks", "2000,12000"][..], &["--tasks-from-names"][..]] {
        pprof_chain()
            .args(["flamegraph", path_arg(&profile), "-o", "-"])
            .args(option)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("use them with --diff"));
    }
}

#[test]
fn diff_rejects_different_kinds() {
    let heap = ctxchain("heap-012000.pb.gz");
    let goroutine = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOROUTINE_PROFILE);
    pprof_chain()
        .args([
            "flamegraph",
            "--diff",
            path_arg(&goroutine),
            path_arg(&heap),
        ])
        .args(["-o", "-"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("is a heap profile but"))
        .stderr(predicate::str::contains("is a goroutine profile"));
}

#[test]
fn output_dash_writes_svg_to_stdout() {
    let profile = ctxchain("heap-012000.pb.gz");
    let svg = stdout_of(&[path_arg(&profile)]);
    let document = parse_svg(&svg);
    assert!(document.root_element().has_tag_name("svg"));
}

#[test]
fn output_in_missing_folder_fails_before_reading() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("missing").join("out.svg");
    // The profile does not exist either: an error about the output shows
    // that the output was checked first.
    let profile = dir.path().join("no-such-profile.pb.gz");
    pprof_chain()
        .args(["flamegraph", path_arg(&profile), "-o", path_arg(&out)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(path_arg(&out)))
        .stderr(predicate::str::contains("does not exist"))
        .stderr(predicate::str::contains("no-such-profile").not());
}

#[test]
fn output_directory_fails_before_reading() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let profile = dir.path().join("no-such-profile.pb.gz");
    pprof_chain()
        .args(["flamegraph", path_arg(&profile), "-o", path_arg(dir.path())])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a directory"))
        .stderr(predicate::str::contains("no-such-profile").not());
}

#[test]
fn output_equal_to_input_rejected() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let profile = dir.path().join("heap.pb.gz");
    fs::copy(ctxchain("heap-012000.pb.gz"), &profile).expect("copy fixture");
    let original = fs::read(&profile).expect("read copy");
    // The same file named another way must be caught too.
    let other_name = dir.path().join(".").join("heap.pb.gz");
    for out in [&profile, &other_name] {
        pprof_chain()
            .args(["flamegraph", path_arg(&profile), "-o", path_arg(out)])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is an input profile"));
    }
    assert_eq!(fs::read(&profile).expect("read copy"), original);
}

#[test]
fn output_replaces_existing_file() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("out.svg");
    fs::write(&out, "old contents").expect("write old output");
    let profile = ctxchain("heap-012000.pb.gz");
    pprof_chain()
        .args(["flamegraph", path_arg(&profile), "-o", path_arg(&out)])
        .assert()
        .success();
    let svg = fs::read_to_string(&out).expect("read output");
    assert!(
        svg.starts_with("<?xml"),
        "output starts with {:?}",
        &svg[..20]
    );
    let names: Vec<_> = fs::read_dir(dir.path())
        .expect("list folder")
        .map(|entry| entry.expect("folder entry").file_name())
        .collect();
    assert_eq!(names, ["out.svg"], "no temporary file is left behind");
}

#[test]
fn failed_run_keeps_old_output() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("out.svg");
    fs::write(&out, "old contents").expect("write old output");
    let profile = dir.path().join("not-a-profile.pb.gz");
    fs::write(&profile, "heap profile: 1: 2 [3: 4] @ heap/1048576\n").expect("write text");
    pprof_chain()
        .args(["flamegraph", path_arg(&profile), "-o", path_arg(&out)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not-a-profile.pb.gz"));
    assert_eq!(
        fs::read_to_string(&out).expect("read output"),
        "old contents"
    );
    let count = fs::read_dir(dir.path()).expect("list folder").count();
    assert_eq!(count, 2, "only the profile and the old output remain");
}

#[test]
fn failed_run_creates_no_output() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("out.svg");
    let profile = dir.path().join("empty.pb.gz");
    fs::write(&profile, "").expect("write empty file");
    pprof_chain()
        .args(["flamegraph", path_arg(&profile), "-o", path_arg(&out)])
        .assert()
        .code(2);
    assert!(!out.exists());
    let count = fs::read_dir(dir.path()).expect("list folder").count();
    assert_eq!(count, 1, "only the profile remains");
}
