//! Helpers shared by the binary's tests: run `rosterd` in a temporary directory, read its
//! output, stop it with SIGTERM (sent from Rust: the tests need no `kill` program).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn rosterd(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rosterd"));
    cmd.current_dir(dir)
        .env("ROSTERD_DATABASE_URL", format!("sqlite://{}/rosterd.db", dir.display()))
        .env("ROSTERD_SECRET_KEY_FILE", dir.join("rosterd.key"))
        .env("ROSTERD_LOG", "warn");
    cmd
}

/// `rosterd client create` on `database`: the printed client (`client_id`, `client_secret`, ...).
pub fn create_client(dir: &Path, database: &str, name: &str, role: &str) -> serde_json::Value {
    let created = rosterd(dir)
        .args([
            "client",
            "create",
            "--name",
            name,
            "--role",
            role,
            "--database",
            database,
        ])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    serde_json::from_slice(&created.stdout).unwrap()
}

/// A token for `client` (as printed by `client create`) from the server at `base`.
pub async fn token_for(base: &str, client: &serde_json::Value) -> String {
    let issued: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client["client_id"].as_str().unwrap()),
            ("client_secret", client["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    issued["access_token"].as_str().unwrap().to_string()
}

/// Reads stdout lines until `pred` matches one, collecting all of them.
pub fn read_until(child: &mut Child, pred: impl Fn(&str) -> bool) -> Vec<String> {
    let stdout = child.stdout.as_mut().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "process ended before printing the expected line; got {lines:?}");
        let done = pred(&line);
        lines.push(line.trim_end().to_string());
        if done {
            return lines;
        }
    }
}

/// Sends SIGTERM to the process `pid`, as a service manager stopping rosterd would.
pub fn terminate(pid: u32) {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
}

/// A running server that is killed if the test ends without stopping it (a failed assertion),
/// so that no process outlives its test.
pub struct Running(Option<Child>);

impl Running {
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }

    /// SIGTERM, then waits for a graceful exit 0.
    pub fn stop(mut self) {
        stop(self.0.take().unwrap());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn stop(mut child: Child) {
    terminate(child.id());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    panic!("rosterd did not stop within 10 s of SIGTERM");
}

/// Pulls `'Bearer TOKEN'` and the URL out of the printed curl line.
pub fn parse_curl(line: &str) -> (String, String) {
    let token = line
        .split("Bearer ")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    let url = line.rsplit(" '").next().unwrap().trim_end_matches('\'').to_string();
    (token, url)
}

/// Starts `rosterd serve` on `database` with the directory's key file and the given public URL
/// (so tokens issued before keep their issuer); returns the child and its base URL.
pub fn serve_base(dir: &Path, database: &str, public_url: Option<&str>) -> (Child, String) {
    serve_with(rosterd(dir), database, public_url)
}

/// Like [`serve_base`] with a prepared command (extra environment).
pub fn serve_with(mut command: Command, database: &str, public_url: Option<&str>) -> (Child, String) {
    command.args(["serve", "--listen", "127.0.0.1:0", "--database", database]);
    if let Some(url) = public_url {
        command.args(["--public-url", url]);
    }
    let mut child = command
        .env("ROSTERD_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let bound = loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "serve exited before listening"
        );
        if let Some(rest) = line.split("bound to ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    (child, format!("http://{bound}"))
}
