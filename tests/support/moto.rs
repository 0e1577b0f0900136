//! The moto server, started by the tests on 127.0.0.1 with a free port and reset
//! between tests.
//!
//! moto is optional on a developer's machine: without `python3 -c 'import moto.server'`
//! the moto tests print why and skip. `.ci/aws-setup.sh` installs it and sets
//! `TAILGATE_REQUIRE_MOTO=1`, which turns a missing moto into a failure, so CI never skips.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tailgate::aws::AwsClients;

/// A running moto server.
pub struct Moto {
    child: Mutex<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// One plain HTTP/1.1 request to 127.0.0.1:`port`; returns the status code.
fn http(port: u16, method: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

fn moto_importable() -> bool {
    Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// moto exits when our end of its stdin closes, i.e. when the test binary exits,
// however it exits: no server outlives the tests.
const LAUNCH: &str = "import os, sys, threading\n\
def watch():\n    sys.stdin.read()\n    os._exit(0)\n\
threading.Thread(target=watch, daemon=True).start()\n\
from moto.server import main\n\
main(['-H', '127.0.0.1', '-p', sys.argv[1]])\n";

impl Moto {
    fn start() -> Option<Moto> {
        if !moto_importable() {
            let msg = "moto is not installed (python3 -c 'import moto.server' failed): \
                       run .ci/aws-setup.sh or `pip install 'moto[server]==5.2.5'`";
            if std::env::var_os("TAILGATE_REQUIRE_MOTO").is_some() {
                panic!("{msg}; TAILGATE_REQUIRE_MOTO is set, so this is a failure");
            }
            // Straight to stderr, past the test harness's output capture, so the
            // skip is visible in a normal `cargo test` run.
            let _ = writeln!(std::io::stderr(), "SKIPPED (moto tests): {msg}");
            return None;
        }
        for _attempt in 0..3 {
            let port = free_port();
            let child = Command::new("python3")
                .args(["-c", LAUNCH, &port.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 runs");
            let moto = Moto {
                child: Mutex::new(child),
                url: format!("http://127.0.0.1:{port}"),
                port,
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if http(port, "GET", "/moto-api/") == Some(200) {
                    return Some(moto);
                }
                if let Ok(Some(_)) = moto.child.lock().unwrap().try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = moto.child.lock().unwrap().kill();
        }
        panic!("the moto server did not become ready on 127.0.0.1");
    }

    fn reset(&self) {
        assert_eq!(
            http(self.port, "POST", "/moto-api/reset"),
            Some(200),
            "moto reset failed"
        );
    }
}

static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());

/// Exclusive use of the shared, freshly reset moto server for one test. `None`:
/// moto is not installed (the reason was printed).
pub struct MotoSession {
    _lock: MutexGuard<'static, ()>,
    /// The server.
    pub moto: &'static Moto,
}

/// Take the moto server for one test (tests using it run one at a time).
pub fn moto() -> Option<MotoSession> {
    let lock = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let moto = MOTO.get_or_init(Moto::start).as_ref()?;
    moto.reset();
    Some(MotoSession { _lock: lock, moto })
}

/// Names of tailgate stacks that exist and are not deleted.
pub async fn live_tailgate_stacks(clients: &AwsClients) -> Vec<String> {
    let mut pages = clients.cloudformation.list_stacks().into_paginator().send();
    let mut live = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("ListStacks");
        for s in page.stack_summaries() {
            let deleted = s
                .stack_status()
                .is_some_and(|st| st.as_str() == "DELETE_COMPLETE");
            let name = s.stack_name().unwrap_or_default();
            if name.starts_with("tailgate") && !deleted {
                live.push(name.to_string());
            }
        }
    }
    live
}
