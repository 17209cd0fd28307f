//! The binary driven as a user drives it, on profiles the Go runtime wrote
//! (testdata/profiles, made by testdata/leakgen).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn profiles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/profiles")
}

fn series(name: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(profiles().join(name))
        .expect("series folder")
        .map(|e| e.expect("folder entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("heap-"))
        })
        .collect();
    files.sort();
    files
}

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("pprof-chain")
        .expect("binary")
        .args(args)
        .output()
        .expect("run pprof-chain");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "stderr: {stderr}");
    serde_json::from_str(&stdout).expect("valid JSON")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// First and last snapshot of a series, as arguments for diff.
fn ends(name: &str) -> (PathBuf, PathBuf) {
    let files = series(name);
    (files[0].clone(), files[files.len() - 1].clone())
}

fn site<'a>(top: &'a Value, function: &str) -> &'a Value {
    top["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .find(|s| s["function"] == function)
        .unwrap_or_else(|| panic!("{function} missing from {top}"))
}

// Reference figures from `go tool pprof -top -nodefraction=0 -unit=B
// -sample_index=inuse_space testdata/profiles/ctxchain/heap-006000.pb.gz`.
#[test]
fn top_matches_go_tool_pprof() {
    let file = profiles().join("ctxchain/heap-006000.pb.gz");
    let top = json(&[
        "top",
        path_str(&file),
        "--sample",
        "inuse_space",
        "--node-fraction",
        "0",
        "--format",
        "json",
    ]);
    assert_eq!(top["total"], 403144);
    assert_eq!(site(&top, "context.WithValue")["flat"], 288000);
    assert_eq!(site(&top, "context.WithValue")["cum"], 288000);
    assert_eq!(site(&top, "main.addLabels")["flat"], 96112);
    assert_eq!(site(&top, "main.addLabels")["cum"], 384112);
    assert_eq!(site(&top, "main.runCtxChain")["flat"], 560);
    assert_eq!(site(&top, "main.runCtxChain")["cum"], 384672);
}

// From `go tool pprof -top -sample_index=alloc_objects` on the same file.
#[test]
fn top_reads_other_sample_types() {
    let file = profiles().join("ctxchain/heap-006000.pb.gz");
    let top = json(&[
        "top",
        path_str(&file),
        "-s",
        "alloc_objects",
        "--format",
        "json",
    ]);
    assert_eq!(top["sample_type"], "alloc_objects");
    assert_eq!(top["total"], 32229);
    assert_eq!(site(&top, "context.WithValue")["flat"], 6000);
}

#[test]
fn top_table_uses_pprof_units() {
    let file = profiles().join("ctxchain/heap-006000.pb.gz");
    let (code, stdout, _) = run(&["top", path_str(&file)]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Type: inuse_space"), "{stdout}");
    assert!(stdout.contains("of 393.70kB total"), "{stdout}");
    assert!(stdout.contains("281.25kB"), "{stdout}");
    assert!(stdout.contains("375.11kB"), "{stdout}");
    assert!(
        stdout.contains("Dropped 33 sites (cum <= 1.97kB)"),
        "{stdout}"
    );
}

#[test]
fn top_rejects_unknown_sample_type() {
    let file = profiles().join("ctxchain/heap-006000.pb.gz");
    let (code, _, stderr) = run(&["top", path_str(&file), "--sample", "cpu"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("sample type \"cpu\" not found"), "{stderr}");
    assert!(stderr.contains("inuse_space"), "{stderr}");
}

#[test]
fn diff_finds_context_chain() {
    let (before, after) = ends("ctxchain");
    let report = json(&[
        "diff",
        path_str(&before),
        path_str(&after),
        "--tasks-from-names",
        "--format",
        "json",
    ]);
    assert_eq!(report["axis"]["source"], "file_names");
    assert_eq!(report["snapshots"][1]["tasks"], 6000.0);
    let finding = &report["findings"][0];
    assert_eq!(finding["kind"], "chain");
    assert_eq!(finding["site"], "context.WithValue");
    assert_eq!(finding["owner"], "main.runCtxChain");
    assert_eq!(finding["wrapper"], "context.WithValue");
    assert_eq!(finding["per_task"]["inuse_objects"], 1.0);
    assert_eq!(finding["per_task"]["inuse_bytes"], 48.0);
    assert_eq!(finding["retained_share"], 1.0);
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(1));
}

// `go tool pprof -top -unit=B -sample_index=inuse_space -diff_base=FIRST LAST`
// gives context.WithValue +288000B and main.addLabels +96112B.
#[test]
fn diff_site_changes_match_pprof_diff_base() {
    let (before, after) = ends("ctxchain");
    let report = json(&[
        "diff",
        path_str(&before),
        path_str(&after),
        "--format",
        "json",
    ]);
    let sites = report["sites"].as_array().expect("sites");
    let change = |name: &str| {
        sites
            .iter()
            .find(|s| s["function"] == name)
            .map(|s| s["change"]["inuse_bytes"].clone())
    };
    assert_eq!(change("context.WithValue"), Some(288000.0.into()));
    assert_eq!(change("main.addLabels"), Some(96112.0.into()));
    assert_eq!(report["axis"]["source"], "order");
    assert!(report["findings"][0].get("per_task").is_none());
}

#[test]
fn diff_of_fixed_loop_has_no_finding() {
    for name in ["ctxfixed", "ctxfixed-sampled"] {
        let (before, after) = ends(name);
        let report = json(&[
            "diff",
            path_str(&before),
            path_str(&after),
            "--tasks-from-names",
            "--format",
            "json",
        ]);
        assert_eq!(report["findings"], Value::Array(vec![]), "{name}");
    }
}

#[test]
fn diff_table_names_owner_and_fix() {
    let (before, after) = ends("ctxchain");
    let (code, stdout, _) = run(&[
        "diff",
        path_str(&before),
        path_str(&after),
        "--tasks",
        "0,6000",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("task counts from --tasks"), "{stdout}");
    assert!(stdout.contains("owner  main.runCtxChain"), "{stdout}");
    assert!(stdout.contains("taskCtx := context.WithValue"), "{stdout}");
    for line in stdout.lines() {
        assert!(line.chars().count() <= 100, "line too wide: {line:?}");
    }
}

#[test]
fn diff_rejects_mixed_kinds() {
    let heap = profiles().join("goroutineleak/heap-000000.pb.gz");
    let goroutine = profiles().join("goroutineleak/goroutine-006000.pb.gz");
    let (code, _, stderr) = run(&["diff", path_str(&heap), path_str(&goroutine)]);
    assert_eq!(code, 2);
    assert!(stderr.contains("goroutine profile"), "{stderr}");
    assert!(stderr.contains("heap profile"), "{stderr}");
}

#[test]
fn diff_mixed_kinds_checked_before_order() {
    // The goroutine profile was written before the heap profile, so an
    // order check would fire first if kinds were not compared first.
    let heap = profiles().join("goroutineleak/heap-006000.pb.gz");
    let goroutine = profiles().join("goroutineleak/goroutine-000000.pb.gz");
    let (code, _, stderr) = run(&["diff", path_str(&heap), path_str(&goroutine)]);
    assert_eq!(code, 2);
    assert!(stderr.contains("compare profiles of one kind"), "{stderr}");
}

#[test]
fn diff_rejects_wrong_task_count() {
    let (before, after) = ends("ctxchain");
    let (code, _, stderr) = run(&["diff", path_str(&before), path_str(&after), "--tasks", "5"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--tasks has 1 value for 2 snapshots"),
        "{stderr}"
    );
}

#[test]
fn diff_without_number_in_name_explains() {
    let (before, _) = ends("ctxchain");
    let dir = tempfile::tempdir().expect("temp dir");
    let renamed = dir.path().join("after.pb.gz");
    std::fs::copy(&before, &renamed).expect("copy");
    let (code, _, stderr) = run(&[
        "diff",
        path_str(&before),
        path_str(&renamed),
        "--tasks-from-names",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no number in the file name"), "{stderr}");
}

#[test]
fn missing_file_exits_2_naming_it() {
    let (code, _, stderr) = run(&["top", "no-such-file.pb.gz"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no-such-file.pb.gz"), "{stderr}");
}

/// Runs trend on a heap series and returns its findings.
fn trend_findings(name: &str) -> Vec<Value> {
    let report = json(&[
        "trend",
        path_str(&profiles().join(name)),
        "--tasks-from-names",
        "--format",
        "json",
    ]);
    report["findings"].as_array().expect("findings").clone()
}

fn only_leak(name: &str) -> Value {
    let findings = trend_findings(name);
    let leaks: Vec<&Value> = findings.iter().filter(|f| f["leak"] == true).collect();
    assert_eq!(leaks.len(), 1, "{name}: {findings:?}");
    leaks[0].clone()
}

fn assert_near(actual: &Value, expected: f64, tolerance: f64, what: &str) {
    let actual = actual.as_f64().unwrap_or(f64::NAN);
    assert!(
        (actual - expected).abs() <= tolerance * expected.abs(),
        "{what}: {actual} not within {tolerance} of {expected}"
    );
}

#[test]
fn trend_verdicts_per_variant() {
    let cases = [
        ("ctxchain", "chain", "main.runCtxChain", "linear"),
        ("ctxchain-8workers", "chain", "main.runCtxChain", "linear"),
        ("ctxchain-sampled", "chain", "main.runCtxChain", "linear"),
        ("reqchain", "chain", "main.runReqChain", "linear"),
        (
            "errchain",
            "chain",
            "main.runErrChain",
            "faster_than_linear",
        ),
        (
            "loggerchain",
            "growing_buffer",
            "main.runLoggerChain",
            "linear",
        ),
        (
            "appendslice",
            "unbounded_collection",
            "main.runAppendSlice",
            "linear",
        ),
        (
            "mapgrow",
            "unbounded_collection",
            "main.runMapGrow",
            "linear",
        ),
    ];
    for (name, kind, owner, verdict) in cases {
        let leak = only_leak(name);
        assert_eq!(leak["kind"], kind, "{name}");
        assert_eq!(leak["owner"], owner, "{name}");
        assert_eq!(leak["verdict"], verdict, "{name}");
    }
}

#[test]
fn trend_figures_within_ten_percent() {
    let leak = only_leak("ctxchain");
    assert_near(
        &leak["per_task"]["inuse_bytes"],
        48.0,
        0.01,
        "ctxchain bytes",
    );
    assert_near(
        &leak["total_per_task"]["inuse_bytes"],
        64.0,
        0.01,
        "ctxchain total",
    );
    assert_near(
        &leak["total_per_task"]["inuse_objects"],
        2.0,
        0.01,
        "ctxchain objects",
    );
    // Go's default sampling: the whole owner's figures are what can be
    // estimated well (about 2 objects and 64 B per task in truth).
    let sampled = only_leak("ctxchain-sampled");
    assert_near(
        &sampled["total_per_task"]["inuse_bytes"],
        64.0,
        0.1,
        "sampled bytes",
    );
    assert_near(
        &sampled["total_per_task"]["inuse_objects"],
        2.0,
        0.1,
        "sampled objects",
    );
    let slice = only_leak("appendslice");
    assert_near(
        &slice["per_task"]["inuse_bytes"],
        79.2,
        0.1,
        "appendslice bytes",
    );
}

#[test]
fn trend_healthy_and_bounded_have_no_leak() {
    for name in ["ctxfixed", "ctxfixed-sampled", "boundedcache"] {
        let findings = trend_findings(name);
        assert!(
            findings.iter().all(|f| f["leak"] == false),
            "{name}: {findings:?}"
        );
    }
    let bounded = trend_findings("boundedcache");
    assert_eq!(bounded[0]["kind"], "bounded");
    assert_eq!(bounded[0]["verdict"], "levelling_off");
}

#[test]
fn trend_finds_leaked_goroutines() {
    let folder = profiles().join("goroutineleak");
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .expect("folder")
        .map(|e| e.expect("entry").path().display().to_string())
        .filter(|p| p.contains("goroutine-"))
        .collect();
    files.sort();
    let mut args = vec!["trend", "--tasks-from-names", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let report = json(&args);
    let finding = &report["findings"][0];
    assert_eq!(finding["kind"], "leaked_goroutines");
    assert_eq!(finding["owner"], "main.waitForReply");
    assert_eq!(finding["site"], "runtime.chanrecv1");
    assert_near(
        &finding["per_task"]["primary"],
        1.0,
        0.01,
        "goroutines per task",
    );
}

#[test]
fn trend_dot_export_has_owner_edge() {
    let (code, stdout, _) = run(&[
        "trend",
        path_str(&profiles().join("ctxchain")),
        "--tasks-from-names",
        "--format",
        "dot",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("digraph growth {"), "{stdout}");
    assert!(
        stdout.contains("\"main.addLabels\" -> \"context.WithValue\""),
        "{stdout}"
    );
}

#[test]
fn trend_without_tasks_uses_timestamps() {
    let report = json(&[
        "trend",
        path_str(&profiles().join("ctxchain")),
        "--format",
        "json",
    ]);
    assert_eq!(report["axis"]["source"], "timestamps");
    assert_eq!(report["axis"]["unit"], "second");
    assert!(report["findings"][0].get("per_second").is_some());
}

#[test]
fn diff_rejects_newest_first() {
    let (before, after) = ends("ctxchain");
    let (code, _, stderr) = run(&["diff", path_str(&after), path_str(&before)]);
    assert_eq!(code, 2);
    assert!(stderr.contains("give the older snapshot first"), "{stderr}");
    let (code, _, stderr) = run(&[
        "diff",
        path_str(&after),
        path_str(&before),
        "--tasks-from-names",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("has fewer tasks (0)"), "{stderr}");
}

#[test]
fn trend_puts_snapshots_in_order() {
    let mut files = series("ctxchain");
    files.reverse();
    let mut args = vec!["trend", "--tasks-from-names", "--format", "json"];
    args.extend(files.iter().map(|p| path_str(p)));
    let output = Command::cargo_bin("pprof-chain")
        .expect("binary")
        .args(&args)
        .output()
        .expect("run pprof-chain");
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("put in order of task count"), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["snapshots"][0]["tasks"], 0.0);
    assert_eq!(report["findings"][0]["kind"], "chain");
}

#[test]
fn trend_rejects_other_kind() {
    let folder = profiles().join("ctxchain");
    let (code, _, stderr) = run(&["trend", "--kind", "goroutine", path_str(&folder)]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is a heap profile, not goroutine"),
        "{stderr}"
    );
}

#[test]
fn heap_goroutine_leak_names_malg() {
    let findings = trend_findings("goroutineleak");
    let goroutines = findings
        .iter()
        .find(|f| f["kind"] == "leaked_goroutines")
        .unwrap_or_else(|| panic!("no goroutine finding: {findings:?}"));
    assert_eq!(goroutines["site"], "runtime.malg");
    assert_eq!(goroutines["owner"], "unknown");
    assert_near(
        &goroutines["per_task"]["inuse_objects"],
        1.0,
        0.01,
        "goroutines",
    );
}
