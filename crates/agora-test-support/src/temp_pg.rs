//! A PostgreSQL server owned by one test: `initdb` in a temporary directory, `pg_ctl` to start,
//! stop and restart it on a free port, so that a test can take the database away from a
//! running Agora and give it back.
//!
//! PostgreSQL refuses to run as root; as root, the commands run as the `postgres` user (with
//! `runuser`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::skip_or_fail;

/// A running (or stopped) private PostgreSQL. Stopped and deleted on drop.
pub struct TempPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The directory holding `initdb` and `pg_ctl`: `pg_config --bindir`, else the `PATH`.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("pg_ctl").exists() {
            return Some(dir);
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find(|p| p.join("pg_ctl").exists() && p.join("initdb").exists())
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl TempPostgres {
    /// Initialises and starts a server, or `None` (after saying why; a failure with
    /// `CI=true`) when the PostgreSQL server programs are not installed.
    pub fn start() -> Option<TempPostgres> {
        let Some(bin) = bin_dir() else {
            skip_or_fail("initdb and pg_ctl not found (install the PostgreSQL server)");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("agora-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create the data directory");
        let pg = TempPostgres { bin, dir, port: free_port(), as_postgres: is_root() };
        if pg.as_postgres {
            let ok = Command::new("chown").args(["-R", "postgres:"]).arg(&pg.dir).status().is_ok_and(|s| s.success());
            assert!(ok, "chown the data directory to postgres");
        }
        let data = pg.data();
        pg.run("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8"]);
        pg.resume();
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// `program` of the server's installation, as the user the server runs as.
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A URL for the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "-t", "60", "start"]);
    }

    /// Stops the server the way an operator's restart does: sessions are ended (`-m fast`).
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"]);
    }

    /// Where the server keeps its data and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = self.command("pg_ctl").args(["-D", &self.data(), "-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
