//! The PostgreSQL server the tests use: the one `XRAY_TEST_DATABASE_URL` names (`make test`
//! starts one with tools/test-with-postgres.sh), or else a private cluster started here with
//! tools/postgres.sh. Each test gets a database of its own, so tests run in parallel.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

/// A PostgreSQL server for tests.
pub struct TestCluster {
    url: String,
    /// The cluster's folder when it was started here (stopped when dropped).
    dir: Option<String>,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/postgres.sh")
}

fn run_script(args: &[&str]) -> String {
    let out = Command::new(script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tools/postgres.sh runs");
    assert!(
        out.status.success(),
        "tools/postgres.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl TestCluster {
    /// The server of `XRAY_TEST_DATABASE_URL`, or one private cluster started for this test
    /// process (stopped when the process ends).
    pub fn shared() -> &'static TestCluster {
        static SHARED: OnceLock<TestCluster> = OnceLock::new();
        SHARED.get_or_init(|| match std::env::var("XRAY_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => TestCluster { url, dir: None },
            _ => TestCluster::private(),
        })
    }

    /// A cluster of its own, for a test that stops and starts its server; stopped and removed
    /// when dropped, or when the test process ends.
    pub fn private() -> TestCluster {
        let dir = run_script(&["start"]);
        // A watchdog stops the cluster once this process is gone, however it ended (a static
        // is never dropped; a test may panic).
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "while kill -0 {} 2>/dev/null; do sleep 1; done; exec '{}' stop '{dir}'",
                std::process::id(),
                script().display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let url = run_script(&["url", &dir]);
        TestCluster {
            url,
            dir: Some(dir),
        }
    }

    /// The URL of the server's maintenance database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new, empty database of its own; answers its URL.
    pub fn database(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "xray_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let url = self.url.clone();
        let create = format!("CREATE DATABASE {name}");
        // On a thread of its own: a test may itself run on a runtime.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("the test cluster answers");
                tokio::spawn(connection);
                client
                    .batch_execute(&create)
                    .await
                    .expect("database created");
            });
        })
        .join()
        .expect("database creation");
        with_database(&self.url, &name)
    }

    /// Stops the server, keeping its data (a private cluster only).
    pub fn pause(&self) {
        run_script(&["pause", self.own_dir()]);
    }

    /// Starts it again on the same port.
    pub fn resume(&self) {
        run_script(&["resume", self.own_dir()]);
    }

    fn own_dir(&self) -> &str {
        self.dir
            .as_deref()
            .expect("only a cluster started by the test can be stopped")
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = Command::new(script())
                .args(["stop", dir])
                .stdin(Stdio::null())
                .output();
        }
    }
}

/// `url` with its database replaced by `name` (its query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let query = path
        .split_once('?')
        .map_or(String::new(), |(_, q)| format!("?{q}"));
    format!("{scheme}://{authority}/{name}{query}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_gets_another_database() {
        assert_eq!(
            super::with_database("postgres://u@h:5/postgres?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://u@h:5", "x"),
            "postgres://u@h:5/x"
        );
    }
}
