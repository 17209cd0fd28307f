//! `pprof-chain flamegraph` driven as a user runs it, on the Go heap profiles
//! in testdata/profiles (written by testdata/leakgen, see testdata/README.md).
//!
//! Reference numbers come from go1.27.3's `go tool pprof` on the same files,
//! as noted at each one.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use assert_cmd::Command;
use predicates::prelude::*;

/// Folder of the profile series, relative to the crate root. A file name
/// gives the number of tasks handled when the snapshot was taken.
const PROFILES: &str = "testdata/profiles";

/// Returns the path of a snapshot series, or of one file of it when `name`
/// is not empty.
fn series(series: &str, name: &str) -> PathBuf {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(PROFILES)
        .join(series);
    if name.is_empty() {
        folder
    } else {
        folder.join(name)
    }
}

/// Returns the path of a ctxchain snapshot. The worker pool of that series
/// leaks a 48-byte context at context.WithValue and a 16-byte value at
/// main.addLabels per task, and main.addLabels is inlined into
/// main.runCtxChain.
fn ctxchain(name: &str) -> PathBuf {
    series("ctxchain", name)
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
    let profile = ctxchain("heap-006000.pb.gz");
    pprof_chain()
        .args(["flamegraph", path_arg(&profile), "-o", path_arg(&out)])
        .assert()
        .success();
    let svg = fs::read_to_string(&out).expect("SVG written");
    let frames = svg_frames(&svg);

    // `go tool pprof -top -unit=B -sample_index=inuse_space heap-006000.pb.gz`:
    // total 403144B; context.WithValue cum 288000B (71.44%); main.runCtxChain
    // cum 384672B; main.addLabels (inline) cum 384112B; runtime.main cum 8992B.
    assert_eq!(frame_total(&frames, "all"), 403_144);
    assert_eq!(frame_total(&frames, "context.WithValue"), 288_000);
    assert_eq!(frame_total(&frames, "main.runCtxChain"), 384_672);
    assert_eq!(frame_total(&frames, "(inline) main.addLabels"), 384_112);
    assert_eq!(frame_total(&frames, "runtime.main"), 8_992);
    let with_value = frames
        .iter()
        .find(|f| f.name == "context.WithValue")
        .expect("context.WithValue frame");
    assert_eq!(
        with_value.tooltip,
        "context.WithValue (288,000 bytes, 71.44%)"
    );

    // 403144 B is 393.70 kB in powers of 1024, as pprof scales it.
    let title = svg_text_by_id(&svg, "title");
    assert!(title.contains("heap-006000.pb.gz"), "title: {title}");
    assert!(title.contains("inuse_space"), "title: {title}");
    assert!(title.contains("total 393.70kB"), "title: {title}");
}

#[test]
fn svg_stacks_root_first() {
    let profile = ctxchain("heap-006000.pb.gz");
    let folded = stdout_of(&[path_arg(&profile), "--folded"]);
    let line = folded
        .lines()
        .find(|line| line.contains("context.WithValue"))
        .expect("a stack with context.WithValue");
    // `go tool pprof -traces -sample_index=inuse_space heap-006000.pb.gz`
    // shows this stack leaf first, in two samples of 25.92kB and 255.33kB
    // (288000 B together).
    assert_eq!(
        line,
        "main.runCtxChain;main.addLabels (inline);context.WithValue 288000"
    );
}

#[test]
fn svg_inlined_frames_are_blue_green() {
    let profile = ctxchain("heap-006000.pb.gz");
    let frames = svg_frames(&stdout_of(&[path_arg(&profile)]));
    let inlined = frames
        .iter()
        .find(|f| f.name == "(inline) main.addLabels")
        .expect("inlined frame");
    let [red, green, blue] = rgb(&inlined.fill);
    assert!(blue > red, "fill {}", inlined.fill);
    assert!(green > red, "fill {}", inlined.fill);
    let caller = frames
        .iter()
        .find(|f| f.name == "main.runCtxChain")
        .expect("caller frame");
    let [red, _, blue] = rgb(&caller.fill);
    assert!(red > blue, "fill {}", caller.fill);
}

#[test]
fn svg_objects_sample_type() {
    let profile = ctxchain("heap-006000.pb.gz");
    let svg = stdout_of(&[path_arg(&profile), "--sample", "inuse_objects"]);
    let frames = svg_frames(&svg);
    // `go tool pprof -top -sample_index=inuse_objects heap-006000.pb.gz`:
    // total 12038; context.WithValue 6000; main.runCtxChain cum 12006.
    assert_eq!(frame_total(&frames, "all"), 12_038);
    assert_eq!(frame_total(&frames, "context.WithValue"), 6_000);
    assert_eq!(frame_total(&frames, "main.runCtxChain"), 12_006);
    let with_value = frames
        .iter()
        .find(|f| f.name == "context.WithValue")
        .expect("context.WithValue frame");
    assert!(
        with_value.tooltip.contains("6,000 objects"),
        "tooltip: {}",
        with_value.tooltip
    );
}

#[test]
fn svg_names_shortened_unless_full() {
    // `go tool pprof -top heap-006000.pb.gz` lists
    // runtime/pprof.writeHeapInternal with cum 8192B, 2.03% of the total.
    let profile = ctxchain("heap-006000.pb.gz");
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
    let profile = ctxchain("heap-006000.pb.gz");
    // Totals from `go tool pprof -top -unit=B -sample_index=TYPE heap-006000.pb.gz`.
    for (sample, total) in [("inuse_space", 403_144.0), ("inuse_objects", 12_038.0)] {
        let folded = stdout_of(&[path_arg(&profile), "--folded", "--sample", sample]);
        assert_eq!(folded_total(&folded), total, "sample type {sample}");
    }
}

#[test]
fn folded_keeps_full_names() {
    let profile = ctxchain("heap-006000.pb.gz");
    let folded = stdout_of(&[path_arg(&profile), "--folded"]);
    assert!(folded.contains("runtime/pprof.writeHeapInternal"));
}

#[test]
fn diff_shows_growth_at_with_value() {
    let before = ctxchain("heap-001000.pb.gz");
    let after = ctxchain("heap-006000.pb.gz");
    let svg = stdout_of(&["--diff", path_arg(&before), path_arg(&after)]);
    let frames = svg_frames(&svg);
    let with_value = frames
        .iter()
        .find(|f| f.name == "context.WithValue")
        .expect("context.WithValue frame");
    // `go tool pprof -top -unit=B -sample_index=inuse_space` on each file:
    // context.WithValue has 48000B in use after 1000 tasks and 288000B after
    // 6000, and the total after is 403144B. `-diff_base=heap-001000.pb.gz`
    // gives the growth, 240000B, which is +59.53% of the later total.
    assert_eq!(
        with_value.tooltip,
        "context.WithValue (288,000 bytes, 71.44%; +59.53%)"
    );
    let [red, green, blue] = rgb(&with_value.fill);
    assert_eq!(red, 255, "fill {}", with_value.fill);
    assert!(green < 250, "fill {}", with_value.fill);
    assert_eq!(green, blue, "fill {}", with_value.fill);
    let title = svg_text_by_id(&svg, "title");
    assert!(
        title.contains("heap-001000.pb.gz → heap-006000.pb.gz"),
        "title: {title}"
    );
}

#[test]
fn diff_folded_has_before_and_after() {
    let before = ctxchain("heap-001000.pb.gz");
    let after = ctxchain("heap-006000.pb.gz");
    let folded = stdout_of(&["--diff", path_arg(&before), path_arg(&after), "--folded"]);
    // 48000B and 288000B, from `go tool pprof -top -unit=B` on each file.
    let line = folded
        .lines()
        .find(|line| line.ends_with(";context.WithValue 48000 288000"));
    assert!(line.is_some(), "folded diff:\n{folded}");
}

#[test]
fn diff_per_task_from_names() {
    let before = ctxchain("heap-001000.pb.gz");
    let after = ctxchain("heap-006000.pb.gz");
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
    // 48000B and 288000B divided by the 5000 tasks between the snapshots,
    // values from `go tool pprof -top -unit=B` on each file. The line lists
    // BEFORE then AFTER, so read from the end it is AFTER then BEFORE.
    assert_eq!(values, [57.6, 9.6]);

    let svg = stdout_of(&args);
    let title = svg_text_by_id(&svg, "title");
    // (403144B - 82904B) / 5000 tasks = 64.048B, totals from
    // `go tool pprof -top -unit=B -sample_index=inuse_space` on each file.
    assert!(title.contains("+64.05B per task"), "title: {title}");
    let subtitle = svg_text_by_id(&svg, "subtitle");
    assert!(
        subtitle.contains("5000 tasks (1000 → 6000"),
        "subtitle: {subtitle}"
    );
}

#[test]
fn diff_rejects_tasks_that_shrink() {
    let before = ctxchain("heap-001000.pb.gz");
    let after = ctxchain("heap-006000.pb.gz");
    pprof_chain()
        .args(["flamegraph", "--diff", path_arg(&before), path_arg(&after)])
        .args(["--tasks", "6000,1000", "-o", "-"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("task counts must grow"));
}

#[test]
fn tasks_without_diff_rejected() {
    let profile = ctxchain("heap-006000.pb.gz");
    for option in [&["--tasks", "1000,6000"][..], &["--tasks-from-names"][..]] {
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
    let heap = ctxchain("heap-006000.pb.gz");
    // `go tool pprof -top goroutine-006000.pb.gz` reads "Type: goroutine".
    let goroutine = series("goroutineleak", "goroutine-006000.pb.gz");
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
    let profile = ctxchain("heap-006000.pb.gz");
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
    fs::copy(ctxchain("heap-006000.pb.gz"), &profile).expect("copy fixture");
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
    let profile = ctxchain("heap-006000.pb.gz");
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

/// Runs `flamegraph --growth ARGS -o -` and returns standard output and
/// standard error.
fn growth_output(args: &[&str]) -> (String, String) {
    let output = pprof_chain()
        .args(["flamegraph", "--growth"])
        .args(args)
        .args(["-o", "-"])
        .output()
        .expect("pprof-chain runs");
    let stderr = String::from_utf8(output.stderr).expect("errors are UTF-8");
    assert!(output.status.success(), "pprof-chain failed: {stderr}");
    let stdout = String::from_utf8(output.stdout).expect("output is UTF-8");
    (stdout, stderr)
}

/// Parses collapsed stacks into (stack, value) pairs.
fn folded_lines(folded: &str) -> Vec<(String, f64)> {
    folded
        .lines()
        .map(|line| {
            let (stack, value) = line.rsplit_once(' ').expect("line ends in a value");
            let value = value.parse().expect("value is a number");
            (stack.to_string(), value)
        })
        .collect()
}

/// Tooltips of an SVG flamegraph: the text of every frame's `<title>`.
fn tooltips(svg: &str) -> Vec<String> {
    let document = parse_svg(svg);
    document
        .descendants()
        .filter(|node| node.has_tag_name("title"))
        .filter_map(|node| node.text().map(str::to_string))
        .collect()
}

fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual}, expected {expected} ± {tolerance}"
    );
}

#[test]
fn growth_widest_tower_is_the_leak() {
    let folder = ctxchain("");
    let args = [path_arg(&folder), "--tasks-from-names"];
    let (folded, _) = growth_output(&[&args[..], &["--folded"]].concat());
    let stacks = folded_lines(&folded);

    // `go tool pprof -top -unit=B -sample_index=inuse_space FILE` on the
    // seven snapshots: context.WithValue has 0, 48000B, 96000B, ... 288000B,
    // so exactly 48B per task, and main.addLabels (inline) has 0, 16112B,
    // 32112B, ... 96112B, whose pairwise slopes have the median 16B per task.
    let widest = stacks
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("some stack grows");
    assert_eq!(
        widest.0,
        "main.runCtxChain;main.addLabels (inline);context.WithValue"
    );
    assert_eq!(widest.1, 48.0);
    let labels = stacks
        .iter()
        .find(|(stack, _)| stack == "main.runCtxChain;main.addLabels (inline)")
        .expect("the addLabels stack grows");
    assert_eq!(labels.1, 16.0);
    assert_eq!(stacks.len(), 2, "folded growth:\n{folded}");
    assert_eq!(folded_total(&folded), 64.0);

    let (svg, _) = growth_output(&args);
    let tooltips = tooltips(&svg);
    for expected in [
        "context.WithValue (48B per task, 75.00%)",
        "(inline) main.addLabels (64B per task, 100.00%)",
        "all (64B per task, 100.00%)",
    ] {
        assert!(
            tooltips.iter().any(|t| t == expected),
            "no tooltip {expected:?} in {tooltips:?}"
        );
    }
}

#[test]
fn growth_title_names_series_and_axis() {
    let folder = ctxchain("");
    let (svg, _) = growth_output(&[path_arg(&folder), "--tasks-from-names"]);
    let title = svg_text_by_id(&svg, "title");
    assert_eq!(
        title,
        "ctxchain: inuse_space grows 64B per task (2 of 21 stacks)"
    );
    let subtitle = svg_text_by_id(&svg, "subtitle");
    assert!(
        subtitle.contains("7 snapshots, 0 → 6000 tasks (task counts from the file names)"),
        "subtitle: {subtitle}"
    );
    // `go tool pprof -top -unit=B -sample_index=inuse_space FILE` gives the
    // totals 13456B, 82904B, 146904B, 211016B, 275016B, 339144B and 403144B:
    // steps of 64000B to 64128B per 1000 tasks after the first, 69448B. The
    // median of the pairwise slopes is 64.06B per task.
    assert!(
        subtitle.contains("Profile total +64.0"),
        "subtitle: {subtitle}"
    );
    // main.runCtxChain (448B, then 560B from 3000 tasks on) and a 16-byte
    // runtime.mallocgc stack grow in steps, not steadily.
    assert!(
        subtitle.contains("2 stacks without steady growth not drawn"),
        "subtitle: {subtitle}"
    );
}

#[test]
fn growth_tasks_option_matches_names() {
    let files: Vec<PathBuf> = (0..=6)
        .map(|i| ctxchain(&format!("heap-{:06}.pb.gz", i * 1000)))
        .collect();
    let mut args: Vec<&str> = files.iter().map(|p| path_arg(p)).collect();
    args.extend(["--tasks", "0,1000,2000,3000,4000,5000,6000", "--folded"]);
    let (from_option, _) = growth_output(&args);

    let folder = ctxchain("");
    let (from_names, _) = growth_output(&[path_arg(&folder), "--tasks-from-names", "--folded"]);
    assert_eq!(from_option, from_names);
}

#[test]
fn growth_per_second_without_tasks() {
    let folder = ctxchain("");
    let (folded, _) = growth_output(&[path_arg(&folder), "--folded"]);
    let stacks = folded_lines(&folded);
    let with_value = stacks
        .iter()
        .find(|(stack, _)| stack.ends_with(";context.WithValue"))
        .expect("context.WithValue grows");
    // `go tool pprof -raw FILE` gives the snapshots' times, 16:42:03.182594934
    // to 16:42:03.33419834. The median of the pairwise slopes of 48000B per
    // snapshot against those times is 1922872.54B per second.
    assert_close(with_value.1, 1_922_872.54, 0.01, "context.WithValue");

    let (svg, _) = growth_output(&[path_arg(&folder)]);
    let subtitle = svg_text_by_id(&svg, "subtitle");
    assert!(
        subtitle.contains("seconds between the profiles' timestamps"),
        "subtitle: {subtitle}"
    );
    assert!(
        tooltips(&svg)
            .iter()
            .any(|t| t == "context.WithValue (1.83MB per second, 75.00%)"),
        "tooltips: {:?}",
        tooltips(&svg)
    );
}

#[test]
fn growth_objects_in_sampled_series() {
    let folder = series("ctxchain-sampled", "");
    let args = [
        path_arg(&folder),
        "--tasks-from-names",
        "--sample",
        "inuse_objects",
        "--folded",
    ];
    let (folded, _) = growth_output(&args);
    // `go tool pprof -top -sample_index=inuse_objects
    // -diff_base=heap-000000.pb.gz heap-600000.pb.gz`: +1190609 objects over
    // 600000 tasks, 1.98 per task, against a true 2 (one per site).
    assert_close(folded_total(&folded), 1.98, 0.1, "objects per task");

    let (svg, _) = growth_output(&args[..4]);
    let title = svg_text_by_id(&svg, "title");
    assert!(title.contains("objects per task"), "title: {title}");
}

#[test]
fn growth_of_goroutine_profiles() {
    let folder = series("goroutineleak", "");
    let args = [
        path_arg(&folder),
        "--kind",
        "goroutine",
        "--tasks-from-names",
        "--folded",
    ];
    let (folded, _) = growth_output(&args);
    // `go tool pprof -traces goroutine-006000.pb.gz`: 6000 goroutines with
    // this stack after 6000 tasks; goroutine-000000.pb.gz has none.
    assert_eq!(
        folded,
        "main.waitForReply;runtime.chanrecv1;runtime.chanrecv;runtime.gopark 1\n"
    );
}

#[test]
fn growth_of_healthy_series_is_empty() {
    let folder = series("ctxfixed", "");
    let args = [path_arg(&folder), "--tasks-from-names"];
    let (svg, stderr) = growth_output(&args);
    assert!(
        stderr.contains("ctxfixed: no stack grows steadily in inuse_space"),
        "stderr: {stderr}"
    );
    let title = svg_text_by_id(&svg, "title");
    assert_eq!(
        title,
        "ctxfixed: no stack grows steadily in inuse_space across 7 snapshots"
    );
    assert!(tooltips(&svg).is_empty(), "the SVG has no frames");

    let (folded, _) = growth_output(&[&args[..], &["--folded"]].concat());
    assert_eq!(folded, "");
}

#[test]
fn growth_all_growing_draws_steps() {
    let folder = series("ctxfixed", "");
    let args = [
        path_arg(&folder),
        "--tasks-from-names",
        "--all-growing",
        "--folded",
    ];
    let (folded, _) = growth_output(&args);
    let stacks = folded_lines(&folded);
    // `go tool pprof -top -unit=B -sample_index=inuse_space FILE`: the
    // in-use total goes from 13456B to 19144B in 6000 tasks, mostly in one
    // step of 5320B between 1000 and 2000 tasks, whose slope is 0. The stacks
    // with positive slopes gain a 112-byte runtime object now and then, and
    // none grows by 1B per task.
    assert!(!stacks.is_empty(), "folded growth is empty");
    for (stack, value) in &stacks {
        assert!(*value > 0.0, "{stack} grows by {value}");
        assert!(*value < 1.0, "{stack} grows by {value}");
    }
}

#[test]
fn growth_min_growth_leaves_out_small_stacks() {
    let folder = ctxchain("");
    let args = [
        path_arg(&folder),
        "--tasks-from-names",
        "--min-growth",
        "20",
        "--folded",
    ];
    let (folded, _) = growth_output(&args);
    assert_eq!(
        folded,
        "main.runCtxChain;main.addLabels (inline);context.WithValue 48\n"
    );
}

#[test]
fn growth_rejects_wrong_task_count() {
    let folder = ctxchain("");
    pprof_chain()
        .args(["flamegraph", "--growth", path_arg(&folder)])
        .args(["--tasks", "0,6000", "-o", "-"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "--tasks has 2 values for 7 snapshots",
        ));
}

#[test]
fn growth_rejects_one_snapshot() {
    let profile = ctxchain("heap-006000.pb.gz");
    pprof_chain()
        .args(["flamegraph", "--growth", path_arg(&profile), "-o", "-"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("at least two snapshots, got 1"));
}

#[test]
fn growth_rejects_different_kinds() {
    let heap = ctxchain("heap-000000.pb.gz");
    let goroutine = series("goroutineleak", "goroutine-006000.pb.gz");
    pprof_chain()
        .args([
            "flamegraph",
            "--growth",
            path_arg(&heap),
            path_arg(&goroutine),
        ])
        .args(["-o", "-"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("is a goroutine profile but"))
        .stderr(predicate::str::contains("is a heap profile"));
}

#[test]
fn growth_options_need_growth() {
    let profile = ctxchain("heap-006000.pb.gz");
    for option in [
        &["--min-growth", "1"][..],
        &["--all-growing"][..],
        &["--kind", "heap"][..],
    ] {
        pprof_chain()
            .args(["flamegraph", path_arg(&profile), "-o", "-"])
            .args(option)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("use them with --growth"));
    }
}

#[test]
fn growth_output_equal_to_snapshot_rejected() {
    let dir = tempfile::tempdir().expect("temporary folder");
    for name in ["heap-000000.pb.gz", "heap-006000.pb.gz"] {
        fs::copy(ctxchain(name), dir.path().join(name)).expect("copy snapshot");
    }
    let out = dir.path().join("heap-006000.pb.gz");
    let original = fs::read(&out).expect("read copy");
    pprof_chain()
        .args(["flamegraph", "--growth", path_arg(dir.path())])
        .args(["-o", path_arg(&out)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is an input profile"));
    assert_eq!(fs::read(&out).expect("read copy"), original);
}
