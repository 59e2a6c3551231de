//! Throw-away Redis servers and clusters, for tests that stop Redis or need a cluster.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{redis_url, skip_or_fail, unique};

const REDIS_SERVER: &str = "/usr/bin/redis-server";
const REDIS_CLI: &str = "/usr/bin/redis-cli";

/// True if the test may start its own Redis servers (the same gate as [`redis_url`], plus the
/// binaries).
pub fn can_spawn_redis() -> bool {
    if redis_url().is_none() {
        return false;
    }
    if !PathBuf::from(REDIS_SERVER).exists() || !PathBuf::from(REDIS_CLI).exists() {
        skip_or_fail("redis-server/redis-cli not installed in /usr/bin");
        return false;
    }
    true
}

/// A free loopback port whose cluster bus port (+10000) is free too.
pub fn free_port() -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if port > 55_000 {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// A `redis-server` started by a test; killed (and its directory removed) on drop.
pub struct RedisServer {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    /// Its working directory.
    pub dir: PathBuf,
}

impl RedisServer {
    /// A standalone server on `port`.
    pub fn start(port: u16) -> RedisServer {
        Self::spawn(port, false)
    }

    /// A cluster-enabled node on `port`.
    pub fn start_cluster_node(port: u16) -> RedisServer {
        Self::spawn(port, true)
    }

    fn spawn(port: u16, cluster: bool) -> RedisServer {
        let dir = std::env::temp_dir().join(unique(&format!("agora-rl-redis-{port}")));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new(REDIS_SERVER);
        cmd.args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if cluster {
            cmd.args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", "nodes.conf"])
                .args(["--cluster-node-timeout", "2000"]);
        }
        let child = cmd.spawn().expect("start redis-server");
        let server = RedisServer { child: Some(child), port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ping(port) {
            assert!(Instant::now() < deadline, "redis-server on {port} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the process (the directory stays until drop).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(REDIS_CLI).args(args).stdin(Stdio::null()).output().expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A 3-master Redis Cluster on free loopback ports; torn down on drop.
pub struct RedisCluster {
    /// The masters.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three nodes and creates the cluster.
    pub fn start() -> RedisCluster {
        let mut nodes: Vec<RedisServer> = Vec::new();
        while nodes.len() < 3 {
            let port = free_port();
            if nodes.iter().any(|n| n.port == port) {
                continue;
            }
            nodes.push(RedisServer::start_cluster_node(port));
        }
        let addrs: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let mut args = vec!["--cluster", "create"];
        args.extend(addrs.iter().map(String::as_str));
        args.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        let out = cli(&args);
        assert!(out.contains("All 16384 slots covered"), "cluster create failed: {out}");
        let deadline = Instant::now() + Duration::from_secs(20);
        for n in &nodes {
            loop {
                let info = cli(&["-p", &n.port.to_string(), "cluster", "info"]);
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "cluster not ok: {info}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        RedisCluster { nodes }
    }

    /// The nodes' URLs, comma-separated (`redis_url` for a cluster).
    pub fn url(&self) -> String {
        self.nodes.iter().map(RedisServer::url).collect::<Vec<_>>().join(",")
    }
}
