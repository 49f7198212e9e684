//! The demo scenario as a test: `relay demo` with a shorter outage, its report's figures
//! checked, and nothing left running afterwards.

use std::time::Duration;

use serde_json::Value;

fn expectation<'a>(report: &'a Value, scene: u64, starts_with: &str) -> &'a Value {
    report["expectations"]
        .as_array()
        .expect("expectations")
        .iter()
        .find(|e| {
            e["scene"] == scene
                && e["expected"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(starts_with)
        })
        .unwrap_or_else(|| panic!("no expectation `{starts_with}` in scene {scene}: {report:#}"))
}

#[test]
fn when_the_demo_runs_then_every_expectation_holds_with_the_expected_figures() {
    let output = assert_cmd::Command::new(env!("CARGO_BIN_EXE_relay"))
        .args([
            "--json",
            "demo",
            "--outage-secs",
            "5",
            "--outage-signups",
            "120",
            "--export-users",
            "6000",
        ])
        .timeout(Duration::from_secs(240))
        .output()
        .expect("relay demo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the report is JSON ({e}); stderr:\n{stderr}"));
    let failed: Vec<&Value> = report["expectations"]
        .as_array()
        .expect("expectations")
        .iter()
        .filter(|e| e["held"] != true)
        .collect();
    assert!(
        failed.is_empty(),
        "expectations that did not hold: {failed:#?}\nstderr:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");

    // Scene 1: four sources, each one delivered, plus the invalid contact refused.
    let scene_1 = report["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["scene"] == 1)
        .count();
    assert_eq!(scene_1, 4 * 2 + 2, "{report:#}");
    // Scene 2: the figures are the outage's own.
    assert_eq!(
        expectation(&report, 2, "every contact Braze could not take")["observed"],
        "120"
    );
    assert_eq!(
        expectation(&report, 2, "each of the 120 users is in Userflow")["observed"],
        "120"
    );
    assert_eq!(
        expectation(&report, 2, "`signed_up` was sent exactly once")["observed"],
        "120"
    );
    // Scene 5: the export's figures are its own.
    let held = expectation(&report, 5, "Userflow holds exactly the segment's users")["observed"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(held.ends_with("0 missing, 0 extra"), "{held}");
    let files = expectation(&report, 5, "every file is read")["observed"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        files.contains("files 2/2 done"),
        "6,000 users in 5,000-user files: {files}"
    );
    // Scene 6: both erasures receipted and verified.
    let scene_6: Vec<&Value> = report["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["scene"] == 6)
        .collect();
    assert_eq!(scene_6.len(), 1 + 2 * 2 + 1 + 2, "{report:#}");
    assert_eq!(
        expectation(&report, 6, "Braze and Userflow hold nothing")["observed"],
        "0"
    );
    // Scene 3 and 4 ran to the end.
    assert_eq!(expectation(&report, 3, "the DLQ is empty")["observed"], "0");
    assert_eq!(
        expectation(&report, 4, "getting it afterwards fails")["observed"],
        "1"
    );
}

/// The pid after `label` in the demo's "processes:" line.
fn pid_after(line: &str, label: &str) -> u32 {
    let rest = &line[line
        .find(label)
        .unwrap_or_else(|| panic!("{label} in {line}"))
        + label.len()..];
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("a pid after {label} in {line}"))
}

fn is_running(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn when_the_demo_gets_sigterm_then_relay_local_and_moto_are_stopped() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut demo = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["demo", "--outage-secs", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("relay demo starts");
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let processes = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("processes:"))
        .expect("the demo names its processes");
    let local = pid_after(&processes, "relay local pid");
    let moto = pid_after(&processes, "moto pid");
    assert!(is_running(local) && is_running(moto), "{processes}");

    // Interrupt it mid-scene, as a CI timeout would.
    let _ = lines.next();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(demo.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM is sent");
    let status = demo.wait().expect("the demo exits");

    assert_eq!(status.code(), Some(1), "interrupted is a failed run");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while (is_running(local) || is_running(moto)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !is_running(local),
        "relay local (pid {local}) was left running"
    );
    assert!(!is_running(moto), "moto (pid {moto}) was left running");
}
