//! The `agora` binary end to end: help, configuration errors naming the key (from a file and
//! from the environment), migrate, seed and openapi.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn agora(dir: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agora"));
    cmd.args(args).current_dir(dir).env_remove("AGORA_CONFIG").env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run agora")
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("agora-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn help_lists_every_command() {
    let dir = tempdir();
    let o = agora(&dir, &["--help"], &[]);
    assert!(o.status.success());
    for c in ["serve", "migrate", "seed", "openapi", "user", "apikey", "oauth"] {
        assert!(text(&o).contains(c), "{c} missing from:\n{}", text(&o));
    }
}

#[test]
fn bad_configuration_stops_start_up_naming_the_key() {
    let dir = tempdir();
    let o = agora(&dir, &["migrate"], &[("AGORA_LISTEN", "nowhere")]);
    assert!(!o.status.success());
    assert!(text(&o).contains("`listen`"), "{}", text(&o));

    let file = dir.join("agora.toml");
    std::fs::write(&file, "[rate_limit]\nenabeld = true\n").unwrap();
    let o = agora(&dir, &["--config", file.to_str().unwrap(), "migrate"], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("enabeld"), "{}", text(&o));

    std::fs::write(&file, "[auth]\naccess_token_ttl = \"soon\"\n").unwrap();
    let o = agora(&dir, &["migrate"], &[("AGORA_CONFIG", file.to_str().unwrap())]);
    assert!(!o.status.success());
    assert!(text(&o).contains("access_token_ttl"), "{}", text(&o));
    // Nothing was created.
    assert!(!dir.join("agora.db").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn migrate_seed_and_openapi() {
    let dir = tempdir();
    let url = format!("sqlite://{}", dir.join("cli.db").display());
    let env = [("AGORA_DATABASE_URL", url.as_str()), ("AGORA_JWT_SECRET", "cli-test")];
    let o = agora(&dir, &["migrate"], &env);
    assert!(o.status.success(), "{}", text(&o));
    assert!(dir.join("cli.db").exists());
    let args = [
        "seed",
        "--users",
        "3",
        "--posts",
        "5",
        "--products",
        "2",
        "--follows",
        "1",
        "--likes",
        "4",
        "--comments",
        "2",
    ];
    let o = agora(&dir, &args, &env);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("seeded 3 users, 5 posts, 2 products, 3 follows, 4 likes, 2 comments"), "{}", text(&o));
    let o = agora(&dir, &["openapi"], &env);
    assert!(o.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v2/users"].is_object());
    let _ = std::fs::remove_dir_all(dir);
}
