//! `pprof-chain gate` driven as CI drives it, on the leakgen series in
//! testdata/profiles: exit status, limits, allowlist, configuration file,
//! baseline, and the four output formats.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn series(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/profiles")
        .join(name)
}

fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `pprof-chain gate ARGS` in `dir`, so that no pprof-chain.toml of
/// the repository is read unless a test puts one there.
fn gate_in(dir: &Path, args: &[&str]) -> Output {
    let output = Command::cargo_bin("pprof-chain")
        .expect("binary")
        .current_dir(dir)
        .arg("gate")
        .args(args)
        .output()
        .expect("run pprof-chain");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn gate(args: &[&str]) -> Output {
    let dir = TempDir::new().expect("temporary folder");
    gate_in(dir.path(), args)
}

/// Runs the gate with `--format json` and returns the exit status and the
/// report.
fn gate_json(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let output = gate(&all);
    assert!(
        output.code == 0 || output.code == 1,
        "stderr: {}",
        output.stderr
    );
    let report = serde_json::from_str(&output.stdout).expect("valid JSON");
    (output.code, report)
}

fn rule<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("rule {name} missing from {report}"))
}

fn status<'a>(report: &'a Value, name: &str) -> &'a str {
    rule(report, name)["status"].as_str().expect("status")
}

/// Copies the heap snapshots of a series into a new temporary folder.
fn copy_series(name: &str) -> TempDir {
    let dir = TempDir::new().expect("temporary folder");
    for entry in fs::read_dir(series(name)).expect("series folder") {
        let path = entry.expect("folder entry").path();
        let file_name = path.file_name().expect("file name").to_owned();
        if file_name.to_string_lossy().starts_with("heap-") {
            fs::copy(&path, dir.path().join(file_name)).expect("copy snapshot");
        }
    }
    dir
}

const LEAKING: [&str; 9] = [
    "ctxchain",
    "ctxchain-8workers",
    "ctxchain-sampled",
    "reqchain",
    "errchain",
    "loggerchain",
    "appendslice",
    "mapgrow",
    "goroutineleak",
];

#[test]
fn leaking_series_exit_1() {
    for name in LEAKING {
        let output = gate(&[text(&series(name))]);
        assert_eq!(output.code, 1, "{name}: {}{}", output.stdout, output.stderr);
        assert!(
            output.stdout.contains("FAILED"),
            "{name}: {}",
            output.stdout
        );
    }
}

#[test]
fn healthy_and_bounded_series_exit_0() {
    for name in ["ctxfixed", "ctxfixed-sampled", "boundedcache"] {
        let output = gate(&[text(&series(name))]);
        assert_eq!(output.code, 0, "{name}: {}{}", output.stdout, output.stderr);
        assert!(
            output.stdout.contains("gate: passed"),
            "{name}: {}",
            output.stdout
        );
    }
}

#[test]
fn bounded_cache_is_listed_as_passing() {
    let (code, report) = gate_json(&[text(&series("boundedcache"))]);
    assert_eq!(code, 0);
    let passed = report["passed_findings"]
        .as_array()
        .expect("passed findings");
    assert!(!passed.is_empty(), "{report}");
    assert!(passed.iter().all(|f| f["kind"] == "bounded"), "{report}");
}

#[test]
fn chain_breaks_chain_rule() {
    let (code, report) = gate_json(&[text(&series("ctxchain"))]);
    assert_eq!(code, 1);
    assert_eq!(status(&report, "chain"), "failed");
    let violation = &rule(&report, "chain")["violations"][0];
    assert_eq!(violation["owner"], "main.runCtxChain");
    assert_eq!(violation["kind"], "chain");
}

#[test]
fn broken_profile_exits_2() {
    let dir = copy_series("ctxchain");
    let victim = dir.path().join("heap-003000.pb.gz");
    let bytes = fs::read(&victim).expect("read snapshot");
    fs::write(&victim, &bytes[..bytes.len() / 2]).expect("truncate snapshot");
    let output = gate(&[text(dir.path())]);
    assert_eq!(output.code, 2, "{}{}", output.stdout, output.stderr);
    assert!(
        output.stderr.contains("heap-003000.pb.gz"),
        "{}",
        output.stderr
    );
    assert!(output.stdout.is_empty(), "{}", output.stdout);
}

#[test]
fn garbage_and_empty_files_exit_2() {
    let dir = copy_series("ctxfixed");
    fs::write(dir.path().join("heap-002000.pb.gz"), b"not a profile").expect("write");
    let output = gate(&[text(dir.path())]);
    assert_eq!(output.code, 2, "{}", output.stderr);

    fs::write(dir.path().join("heap-002000.pb.gz"), b"").expect("write");
    let output = gate(&[text(dir.path())]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stderr.contains("empty"), "{}", output.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let single = series("ctxchain").join("heap-000000.pb.gz");
    let output = gate(&[text(&single)]);
    assert_eq!(output.code, 2);
    assert!(
        output.stderr.contains("at least two snapshots"),
        "{}",
        output.stderr
    );

    let output = gate(&[text(&series("ctxchain")), "--max-bytes-per-task", "-5"]);
    assert_eq!(output.code, 2, "{}", output.stderr);

    let output = gate(&[text(&series("ctxchain")), "--format", "yaml"]);
    assert_eq!(output.code, 2, "{}", output.stderr);

    let output = gate(&[text(&series("ctxchain")), "--tasks", "1,2"]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stderr.contains("--tasks"), "{}", output.stderr);
}

#[test]
fn names_without_task_counts_exit_2() {
    let dir = TempDir::new().expect("temporary folder");
    for (i, name) in ["heap-000000.pb.gz", "heap-006000.pb.gz"]
        .iter()
        .enumerate()
    {
        let target = dir
            .path()
            .join(format!("heap-{}.pb.gz", ["first", "last"][i]));
        fs::copy(series("ctxchain").join(name), target).expect("copy");
    }
    let output = gate(&[text(dir.path())]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stderr.contains("task counts"), "{}", output.stderr);

    let output = gate(&[text(dir.path()), "--tasks", "0,6000"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
}

#[test]
fn bytes_limit_compares_lower_bound() {
    // appendslice retains about 79 B per task.
    let appendslice = series("appendslice");
    let (code, report) = gate_json(&[text(&appendslice), "--max-bytes-per-task", "1K"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(status(&report, "bytes-per-task"), "passed");
    assert_eq!(rule(&report, "bytes-per-task")["checked"], 1);

    let (code, report) = gate_json(&[text(&appendslice), "--max-bytes-per-task", "10"]);
    assert_eq!(code, 1);
    let violation = &rule(&report, "bytes-per-task")["violations"][0];
    assert_eq!(violation["owner"], "main.runAppendSlice");
    assert_eq!(violation["limit"], 10.0);
    let compared = violation["compared"].as_f64().expect("compared");
    let measured = violation["measured"].as_f64().expect("measured");
    assert!(compared > 10.0, "{violation}");
    assert!(compared <= measured, "{violation}");
}

#[test]
fn objects_limit_alone_turns_off_bytes_limit() {
    // mapgrow keeps one object per task.
    let mapgrow = series("mapgrow");
    let (code, report) = gate_json(&[text(&mapgrow), "--max-objects-per-task", "5"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(status(&report, "objects-per-task"), "passed");
    assert_eq!(status(&report, "bytes-per-task"), "skipped");

    let (code, report) = gate_json(&[text(&mapgrow), "--max-objects-per-task", "0.5"]);
    assert_eq!(code, 1);
    assert_eq!(status(&report, "objects-per-task"), "failed");
}

#[test]
fn growth_percent_limit() {
    // mapgrow adds about 620 kB to a heap that starts near 25 kB.
    let mapgrow = series("mapgrow");
    let (code, report) = gate_json(&[text(&mapgrow), "--max-growth-percent", "1000000"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(status(&report, "growth-percent"), "passed");

    let (code, report) = gate_json(&[text(&mapgrow), "--max-growth-percent", "10"]);
    assert_eq!(code, 1);
    assert_eq!(status(&report, "growth-percent"), "failed");
    let compared = rule(&report, "growth-percent")["violations"][0]["compared"]
        .as_f64()
        .expect("compared");
    assert!(compared > 100.0, "{report}");
}

#[test]
fn chain_fails_whatever_the_limits() {
    let (code, report) = gate_json(&[text(&series("ctxchain")), "--max-bytes-per-task", "1M"]);
    assert_eq!(code, 1);
    assert_eq!(status(&report, "bytes-per-task"), "passed");
    assert_eq!(status(&report, "chain"), "failed");
}

#[test]
fn allow_by_owner_passes_chain() {
    let (code, report) = gate_json(&[text(&series("ctxchain")), "--allow", "main.runCtx*"]);
    assert_eq!(code, 0, "{report}");
    let allowed = &report["allowed"][0];
    assert_eq!(allowed["owner"], "main.runCtxChain");
    assert_eq!(allowed["by_owner"], true);
    assert_eq!(allowed["pattern"], "main.runCtx*");
}

#[test]
fn allow_by_site_leaves_other_sites() {
    let (code, report) = gate_json(&[text(&series("ctxchain")), "--allow", "context.WithValue"]);
    assert_eq!(code, 1);
    let allowed = &report["allowed"][0];
    assert_eq!(allowed["by_owner"], false);
    assert_eq!(allowed["sites"][0], "context.WithValue");
    // What remains is main.addLabels: 16 B per task.
    let violation = &rule(&report, "bytes-per-task")["violations"][0];
    let measured = violation["measured"].as_f64().expect("measured");
    assert!((measured - 16.0).abs() < 0.5, "{violation}");
}

#[test]
fn allow_of_every_site_passes_finding() {
    let ctxchain = series("ctxchain");
    let args = [
        text(&ctxchain),
        "--allow",
        "context.WithValue",
        "--allow",
        "main.addLabels",
    ];
    let (code, report) = gate_json(&args);
    assert_eq!(code, 0, "{report}");
    let allowed = report["allowed"].as_array().expect("allowed");
    assert_eq!(allowed.len(), 2, "{report}");
    assert!(allowed.iter().all(|a| a["by_owner"] == false), "{report}");
    let passed = report["passed_findings"]
        .as_array()
        .expect("passed findings");
    assert!(
        passed.is_empty(),
        "an allowed leak is not a passing finding: {report}"
    );
}

#[test]
fn allow_that_matches_nothing_changes_nothing() {
    let (code, report) = gate_json(&[text(&series("ctxchain")), "--allow", "github.com/*"]);
    assert_eq!(code, 1);
    assert!(report["allowed"].as_array().expect("allowed").is_empty());
}

#[test]
fn config_file_in_current_folder_is_read() {
    let dir = TempDir::new().expect("temporary folder");
    let config = "[gate]\nmax_bytes_per_task = \"1K\"\n";
    fs::write(dir.path().join("pprof-chain.toml"), config).expect("write config");
    let appendslice = series("appendslice");

    let output = gate_in(dir.path(), &[text(&appendslice)]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    assert!(
        output.stdout.contains("more than 1kB per task"),
        "{}",
        output.stdout
    );

    let output = gate_in(
        dir.path(),
        &[text(&appendslice), "--max-bytes-per-task", "10"],
    );
    assert_eq!(output.code, 1, "flag must win: {}", output.stdout);

    let output = gate_in(dir.path(), &[text(&appendslice), "--no-config"]);
    assert_eq!(
        output.code, 1,
        "--no-config must ignore the file: {}",
        output.stdout
    );
}

#[test]
fn config_file_allow_adds_to_flags() {
    let dir = TempDir::new().expect("temporary folder");
    let config = dir.path().join("gate.toml");
    fs::write(&config, "[gate]\nallow = [\"main.runCtxChain\"]\n").expect("write config");
    let ctxchain = series("ctxchain");
    let args = [
        text(&ctxchain),
        "--config",
        text(&config),
        "--allow",
        "nothing.*",
    ];
    let output = gate(&args);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
}

#[test]
fn unknown_config_key_exits_2_naming_it() {
    let dir = TempDir::new().expect("temporary folder");
    let config = dir.path().join("pprof-chain.toml");
    fs::write(&config, "[gate]\nmax_bytes_per_tsk = 64\n").expect("write config");
    let output = gate_in(dir.path(), &[text(&series("ctxfixed"))]);
    assert_eq!(output.code, 2);
    assert!(
        output.stderr.contains("max_bytes_per_tsk"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("pprof-chain.toml"),
        "{}",
        output.stderr
    );
}

#[test]
fn invalid_config_values_exit_2() {
    let dir = TempDir::new().expect("temporary folder");
    let config = dir.path().join("pprof-chain.toml");
    for (body, key) in [
        (
            "[gate]\nmax_bytes_per_task = \"lots\"\n",
            "max_bytes_per_task",
        ),
        ("[gate]\ntolerance_percent = -1\n", "tolerance_percent"),
        ("[other]\nx = 1\n", "other"),
        ("[gate]\nallow = [\"\"]\n", "allow"),
    ] {
        fs::write(&config, body).expect("write config");
        let output = gate_in(dir.path(), &[text(&series("ctxfixed"))]);
        assert_eq!(output.code, 2, "{body}: {}", output.stderr);
        assert!(output.stderr.contains(key), "{body}: {}", output.stderr);
        assert!(
            output.stderr.contains("pprof-chain.toml"),
            "{body}: {}",
            output.stderr
        );
    }
}

#[test]
fn missing_config_file_exits_2() {
    let output = gate(&[text(&series("ctxfixed")), "--config", "no-such.toml"]);
    assert_eq!(output.code, 2);
    assert!(output.stderr.contains("no-such.toml"), "{}", output.stderr);
}

#[test]
fn baseline_of_same_run_passes() {
    let dir = TempDir::new().expect("temporary folder");
    let baseline = dir.path().join("baseline.json");
    let ctxfixed = series("ctxfixed");
    let output = gate(&[text(&ctxfixed), "--write-baseline", text(&baseline)]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(&baseline).expect("baseline written"))
            .expect("baseline is JSON");
    assert_eq!(summary["format"], "pprof-chain gate baseline");
    assert_eq!(summary["last_tasks"], 6000.0);

    let (code, report) = gate_json(&[text(&ctxfixed), "--baseline", text(&baseline)]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(status(&report, "baseline-bytes-per-task"), "passed");
    assert_eq!(status(&report, "baseline-inuse"), "passed");
}

#[test]
fn leaking_run_passes_its_own_baseline_rules() {
    let dir = TempDir::new().expect("temporary folder");
    let baseline = dir.path().join("baseline.json");
    let ctxchain = series("ctxchain");
    let output = gate(&[text(&ctxchain), "--write-baseline", text(&baseline)]);
    assert_eq!(output.code, 1, "the run itself leaks: {}", output.stderr);
    assert!(
        baseline.is_file(),
        "the baseline is written even when the run fails"
    );

    let (_, report) = gate_json(&[text(&ctxchain), "--baseline", text(&baseline)]);
    assert_eq!(
        status(&report, "baseline-bytes-per-task"),
        "passed",
        "{report}"
    );
    assert_eq!(status(&report, "baseline-inuse"), "passed", "{report}");
}

#[test]
fn leakier_run_fails_baseline() {
    let dir = TempDir::new().expect("temporary folder");
    let baseline = dir.path().join("baseline.json");
    let ctxchain = series("ctxchain");
    // The same snapshots labelled with twice the tasks: half the growth per
    // task, so the real run retains twice the baseline's bytes per task.
    let doubled = "0,2000,4000,6000,8000,10000,12000";
    let args = [
        text(&ctxchain),
        "--tasks",
        doubled,
        "--write-baseline",
        text(&baseline),
    ];
    gate(&args);
    let args = [
        text(&ctxchain),
        "--baseline",
        text(&baseline),
        "--allow",
        "main.runCtxChain",
    ];
    let (code, report) = gate_json(&args);
    // The allowlist keeps the chain out of the findings, so no site is
    // checked against the baseline.
    assert_eq!(code, 0, "{report}");

    let args = [
        text(&ctxchain),
        "--baseline",
        text(&baseline),
        "--max-bytes-per-task",
        "1K",
    ];
    let (code, report) = gate_json(&args);
    assert_eq!(code, 1);
    let per_task = rule(&report, "baseline-bytes-per-task");
    assert_eq!(per_task["status"], "failed", "{report}");
    let sites: Vec<&str> = per_task["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| v["site"].as_str().expect("site"))
        .collect();
    assert!(sites.contains(&"context.WithValue"), "{sites:?}");
    let reason = rule(&report, "baseline-inuse")["skip_reason"]
        .as_str()
        .expect("in-use rule skipped");
    assert!(reason.contains("12,000"), "{reason}");
}

#[test]
fn baseline_folder_and_inuse_rule() {
    let ctxchain = series("ctxchain");
    let ctxfixed = series("ctxfixed");
    let args = [
        text(&ctxchain),
        "--baseline",
        text(&ctxfixed),
        "--max-bytes-per-task",
        "1K",
    ];
    let (code, report) = gate_json(&args);
    assert_eq!(code, 1);
    assert_eq!(status(&report, "baseline-bytes-per-task"), "failed");
    // context.WithValue retains 281 kB, under the default minimum of 1 MiB.
    assert_eq!(status(&report, "baseline-inuse"), "passed", "{report}");

    let mut low = args.to_vec();
    low.extend(["--min-inuse-increase", "64K"]);
    let (_, report) = gate_json(&low);
    let inuse = rule(&report, "baseline-inuse");
    assert_eq!(inuse["status"], "failed", "{report}");
    assert_eq!(inuse["violations"][0]["site"], "context.WithValue");
}

#[test]
fn baseline_that_is_not_a_summary_exits_2() {
    let profile = series("ctxfixed").join("heap-000000.pb.gz");
    let output = gate(&[text(&series("ctxfixed")), "--baseline", text(&profile)]);
    assert_eq!(output.code, 2);
    assert!(
        output.stderr.contains("not a gate baseline"),
        "{}",
        output.stderr
    );

    let dir = TempDir::new().expect("temporary folder");
    let other = dir.path().join("other.json");
    fs::write(&other, "{\"snapshots\": []}").expect("write");
    let output = gate(&[text(&series("ctxfixed")), "--baseline", text(&other)]);
    assert_eq!(output.code, 2);
    assert!(
        output.stderr.contains("not a gate baseline"),
        "{}",
        output.stderr
    );
}

#[test]
fn junit_has_failure_per_broken_rule() {
    let output = gate(&[text(&series("ctxchain")), "--format", "junit"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    let document = roxmltree::Document::parse(&output.stdout).expect("well-formed XML");
    let cases: Vec<roxmltree::Node> = document
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 6);

    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").expect("name"))
        .collect();
    assert_eq!(failed, ["chain", "bytes-per-task"]);
    let failures = document
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, 2);

    let suite = document
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("testsuite");
    assert_eq!(suite.attribute("failures"), Some("2"));
    assert_eq!(suite.attribute("skipped"), Some("4"));
    let skipped = document
        .descendants()
        .filter(|n| n.has_tag_name("skipped"))
        .count();
    assert_eq!(skipped, 4);
}

#[test]
fn junit_of_passing_run_has_no_failure() {
    let output = gate(&[text(&series("ctxfixed")), "--format", "junit"]);
    assert_eq!(output.code, 0);
    let document = roxmltree::Document::parse(&output.stdout).expect("well-formed XML");
    assert_eq!(
        document
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );
}

/// Collects the cells of every table row of a Markdown document, header
/// first.
fn markdown_rows(markdown: &str) -> Vec<Vec<String>> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut rows = Vec::new();
    let mut cell: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::TableHead | Tag::TableRow) => rows.push(Vec::new()),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                let text = cell.take().expect("open cell");
                rows.last_mut().expect("open row").push(text);
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(cell) = cell.as_mut() {
                    cell.push_str(&t);
                }
            }
            _ => {}
        }
    }
    rows
}

#[test]
fn markdown_has_rule_table() {
    let output = gate(&[text(&series("ctxchain")), "--format", "markdown"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(
        output.stdout.starts_with("## pprof-chain gate: failed"),
        "{}",
        output.stdout
    );
    let rows = markdown_rows(&output.stdout);
    assert_eq!(rows[0], ["Rule", "Result", "Checked", "Requirement"]);
    assert_eq!(rows.len(), 7, "{rows:?}");
    let chain = rows.iter().find(|r| r[0] == "chain").expect("chain row");
    assert_eq!(chain[1], "failed");
    assert!(
        output.stdout.contains("### Broken: `chain`"),
        "{}",
        output.stdout
    );
    // The Go method name keeps its star instead of turning into emphasis.
    assert!(output
        .stdout
        .contains("`taskCtx := context.WithValue(ctx, ...)`"));
}

#[test]
fn output_file_is_written_and_status_kept() {
    let dir = TempDir::new().expect("temporary folder");
    let report = dir.path().join("gate.xml");
    let ctxchain = series("ctxchain");
    let args = [text(&ctxchain), "--format", "junit", "-o", text(&report)];
    let output = gate(&args);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stdout.is_empty(), "{}", output.stdout);
    assert!(output.stderr.contains("gate.xml"), "{}", output.stderr);
    let written = fs::read_to_string(&report).expect("report written");
    roxmltree::Document::parse(&written).expect("well-formed XML");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .expect("list folder")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n != "gate.xml")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn output_into_missing_folder_exits_2() {
    let dir = TempDir::new().expect("temporary folder");
    let report = dir.path().join("no-such-folder/gate.md");
    let output = gate(&[text(&series("ctxfixed")), "-o", text(&report)]);
    assert_eq!(output.code, 2);
    assert!(
        output.stderr.contains("does not exist"),
        "{}",
        output.stderr
    );
}

#[test]
fn output_over_input_snapshot_exits_2() {
    let dir = copy_series("ctxfixed");
    let snapshot = dir.path().join("heap-000000.pb.gz");
    let before = fs::read(&snapshot).expect("read snapshot");
    for flag in ["-o", "--write-baseline"] {
        let output = gate(&[text(dir.path()), flag, text(&snapshot)]);
        assert_eq!(output.code, 2, "{flag}: {}", output.stderr);
        assert!(
            output.stderr.contains("is an input"),
            "{flag}: {}",
            output.stderr
        );
        assert_eq!(
            fs::read(&snapshot).expect("read snapshot"),
            before,
            "{flag}"
        );
    }
}

#[test]
fn json_lists_every_rule() {
    let (code, report) = gate_json(&[text(&series("ctxfixed"))]);
    assert_eq!(code, 0);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["passed"], true);
    let names: Vec<&str> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "chain",
            "bytes-per-task",
            "objects-per-task",
            "growth-percent",
            "baseline-bytes-per-task",
            "baseline-inuse"
        ]
    );
    assert_eq!(report["settings"]["limits"]["max_bytes_per_task"], 0.0);
}

#[test]
fn sampled_series_reports_sample_period() {
    let (_, report) = gate_json(&[text(&series("ctxchain-sampled"))]);
    assert_eq!(report["run"]["sample_period"], 524288.0);
    let (_, report) = gate_json(&[text(&series("ctxchain"))]);
    assert_eq!(report["run"]["sample_period"], 1.0);
}

#[test]
fn help_explains_exit_status_and_rule() {
    let output = gate(&["--help"]);
    assert_eq!(output.code, 0);
    assert!(output
        .stdout
        .contains("Exit status: 0 when every rule passes, 1"));
    assert!(output.stdout.contains("lower end of its 95% interval"));
    assert!(
        output.stdout.contains("owner"),
        "--allow must say what it matches"
    );
}

#[test]
fn recording_without_task_counts_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/profiles/ctxchain");
    let mut entries = Vec::new();
    for (i, task) in ["000000", "003000", "006000"].iter().enumerate() {
        let name = format!("heap-{:06}.pb.gz", i + 1);
        std::fs::copy(
            source.join(format!("heap-{task}.pb.gz")),
            dir.path().join(&name),
        )
        .expect("copy snapshot");
        entries.push(format!(r#"{{"file": "{name}", "kind": "heap"}}"#));
    }
    let manifest = format!(r#"{{"version": 1, "snapshots": [{}]}}"#, entries.join(", "));
    std::fs::write(dir.path().join("manifest.json"), manifest).expect("write manifest");
    let output = Command::cargo_bin("pprof-chain")
        .expect("binary")
        .arg("gate")
        .arg(dir.path())
        .output()
        .expect("run gate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("manifest has no task counts"), "{stderr}");
}
