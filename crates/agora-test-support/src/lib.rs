//! Test support for Agora's crates.
//!
//! * [`TestApp`] builds the real application (`App::build`) on a fresh database: a temporary
//!   SQLite file, or a fresh PostgreSQL schema on `AGORA_TEST_DATABASE_URL` that is dropped
//!   again when the app is dropped.
//! * [`TestApp::get`] and friends drive `App::router()` in process with `tower::ServiceExt::oneshot`
//!   and hand back a [`TestResponse`] with the status, headers and the body (parsed as JSON when
//!   it is JSON).
//! * [`db_test!`] expands one behaviour test into a `sqlite` and a `postgres` test.
//! * [`raw_http`] is a minimal HTTP/1.1 client for the few tests that need a real socket.
//! * [`redis`] starts throw-away Redis servers and clusters.
//! * [`pg_url`] and [`redis_url`] find the test servers: without them a test prints that it
//!   skipped, and with `CI=true` it fails instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod raw_http;
pub mod redis;
pub mod temp_pg;

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use agora_core::actor::Scopes;
use agora_core::products::{NewProduct, Product};
use agora_core::users::{NewUser, User};
use agora_core::{Actor, ErrorCode};
use agora_server::{App, Config};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tower::ServiceExt;

/// Expands a behaviour test into one test per database engine:
///
/// ```ignore
/// db_test!(creates_a_user, |app| async move {
///     let res = app.get("/v2/users").send().await;
///     assert_eq!(res.status, 200);
/// });
/// ```
///
/// becomes `mod creates_a_user { async fn sqlite() …; async fn postgres() … }`.
///
/// `db_test!(name, with = TestApp::redis, |app| …)` builds the app with another constructor
/// (`fn(Engine) -> impl Future<Output = Option<TestApp>>`; `None` skips the test).
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::db_test!($name, with = $crate::TestApp::plain, |$app| $body);
    };
    ($name:ident, with = $make:path, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let Some($app) = $make($crate::Engine::Sqlite).await else {
                    return;
                };
                $body.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $make($crate::Engine::Postgres).await else {
                    return;
                };
                $body.await;
            }
        }
    };
}

/// Which engine a [`TestApp`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh schema on the test PostgreSQL server.
    Postgres,
}

/// Removes what a [`TestApp`] created: the SQLite directory or the PostgreSQL schema.
#[derive(Debug)]
pub enum Cleanup {
    /// Temporary directory holding `agora.db`.
    Sqlite(PathBuf),
    /// Base URL and schema name.
    Postgres {
        /// `AGORA_TEST_DATABASE_URL`.
        base_url: String,
        /// `t_<uuid>`.
        schema: String,
    },
    /// Nothing: a second instance on a database another [`TestApp`] owns.
    Shared,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Shared => {}
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { base_url, schema } => {
                let (base_url, schema) = (base_url.clone(), schema.clone());
                // Drop may run inside a runtime; do the async work on a thread with its own.
                let handle = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    rt.block_on(async move {
                        let mut conn = PgConnection::connect(&base_url).await.ok()?;
                        // End the app's own connections first (they carry the schema as their
                        // application_name) so nothing holds a lock the DROP would wait for.
                        let _ = sqlx::query(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = $1 AND pid <> pg_backend_pid()",
                        )
                        .bind(&schema)
                        .execute(&mut conn)
                        .await;
                        let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                        let r = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut conn).await;
                        if let Err(e) = r {
                            eprintln!("warning: could not drop test schema {schema}: {e}");
                        }
                        let _ = conn.close().await;
                        Some(())
                    })
                });
                let _ = handle.join();
            }
        }
    }
}

/// The configuration every test app uses: fast hashing, no rate limits, a fixed secret.
pub fn test_config(database_url: String) -> Config {
    let mut c = Config { database_url, ..Config::default() };
    c.auth.jwt_secret = TEST_JWT_SECRET.into();
    c.auth.argon2_memory_kib = 64;
    c.auth.argon2_iterations = 1;
    c.rate_limit.enabled = false;
    c.db_max_connections = 5;
    // Debug builds on a busy machine register a level's references slowly: a wide window
    // keeps each level one batch, which the statement-count tests rely on.
    c.graphql.batch_window = Duration::from_millis(25);
    c.shutdown_grace = Duration::from_secs(30);
    c
}

/// `auth.jwt_secret` of every test app.
pub const TEST_JWT_SECRET: &str = "test-secret";

/// The password [`create_user`] and [`TestApp::signup_and_login`] give every account.
pub const PASSWORD: &str = "correct horse battery";

/// The HMAC key the server derives from [`TEST_JWT_SECRET`] for HS256 access tokens (see
/// `app.rs`: HMAC-SHA256 of the purpose string keyed by the server secret). Lets tests forge
/// correctly signed tokens whose *claims* are wrong.
pub fn hs256_key() -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(TEST_JWT_SECRET.as_bytes()).expect("hmac key");
    mac.update(b"agora jwt hs256 v1");
    mac.finalize().into_bytes().to_vec()
}

/// Says why a test does not run: a skip, or a failure with `CI=true` (where every backend is
/// required).
/// Skips are also appended to the file named by `AGORA_TEST_SKIPS` (`reason<TAB>test`), so
/// that `scripts/test.sh` can count them: the test harness reports a skipped test as passed
/// and swallows its output.
pub fn skip_or_fail(why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why} (required when CI=true)");
    }
    eprintln!("skipped: {why}");
    if let Some(path) = std::env::var_os("AGORA_TEST_SKIPS") {
        use std::io::Write;
        let test = std::thread::current().name().unwrap_or("?").to_string();
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(path) {
            let _ = writeln!(f, "{why}\t{test}");
        }
    }
}

fn env_url(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            skip_or_fail(&format!("{name} not set"));
            None
        }
    }
}

/// `AGORA_TEST_REDIS_URL`, or `None` (after printing why) when unset.
pub fn redis_url() -> Option<String> {
    env_url("AGORA_TEST_REDIS_URL")
}

/// `AGORA_TEST_DATABASE_URL` (a PostgreSQL server), or `None` (after printing why) when unset.
pub fn pg_url() -> Option<String> {
    env_url("AGORA_TEST_DATABASE_URL")
}

/// A random identifier, to keep concurrently running tests' keys and files apart.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// A fresh Ed25519 key: (PKCS#8 PEM of the private key, the 32 public key bytes).
pub fn ed25519_pem() -> (String, [u8; 32]) {
    use base64::Engine;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let der = key.to_pkcs8_der().expect("encode PKCS#8");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
    (pem, key.verifying_key().to_bytes())
}

/// A built application on a fresh database.
pub struct TestApp {
    /// The application (its `state` is reachable through `Deref`).
    pub app: App,
    /// Which engine.
    pub engine: Engine,
    /// For apps built by [`TestApp::eddsa`]: the signing key's PEM and public key bytes.
    pub ed25519: Option<(String, [u8; 32])>,
    router: Router,
    admin: tokio::sync::OnceCell<(i64, String)>,
    // Declared last: dropped after the app (and its pool).
    cleanup: Cleanup,
}

impl Deref for TestApp {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl TestApp {
    fn wrap(app: App, engine: Engine, cleanup: Cleanup) -> TestApp {
        TestApp { router: app.router(), app, engine, ed25519: None, admin: tokio::sync::OnceCell::new(), cleanup }
    }

    /// A fresh SQLite database in a temporary directory.
    pub async fn sqlite() -> TestApp {
        Self::sqlite_with(|_| {}).await
    }

    /// Like [`TestApp::sqlite`], with a chance to adjust the configuration.
    pub async fn sqlite_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = std::env::temp_dir().join(format!("agora-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let cleanup = Cleanup::Sqlite(dir.clone());
        let mut config = test_config(format!("sqlite://{}", dir.join("agora.db").display()));
        adjust(&mut config);
        let app = App::build(config).await.expect("App::build on SQLite");
        Self::wrap(app, Engine::Sqlite, cleanup)
    }

    /// A fresh schema on `AGORA_TEST_DATABASE_URL`, or `None` (after printing why) when the
    /// variable is unset. With `CI=true` an unset variable is a failure, not a skip.
    pub async fn postgres() -> Option<TestApp> {
        Self::postgres_with(|_| {}).await
    }

    /// Like [`TestApp::postgres`], with a chance to adjust the configuration.
    pub async fn postgres_with(adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let base_url = pg_url()?;
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&base_url).await.expect("connect to AGORA_TEST_DATABASE_URL");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(&mut conn)
            .await
            .expect("create test schema");
        conn.close().await.expect("close setup connection");
        let cleanup = Cleanup::Postgres { base_url: base_url.clone(), schema: schema.clone() };
        let sep = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{sep}options=-csearch_path%3D{schema}&application_name={schema}");
        let mut config = test_config(url);
        adjust(&mut config);
        let app = App::build(config).await.expect("App::build on PostgreSQL");
        Some(Self::wrap(app, Engine::Postgres, cleanup))
    }

    /// An app on the PostgreSQL database at `url`, which the caller owns (nothing is cleaned
    /// up): for tests that run their own server.
    pub async fn postgres_at(url: &str, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = test_config(url.to_string());
        adjust(&mut config);
        let app = App::build(config).await.expect("App::build on PostgreSQL");
        Self::wrap(app, Engine::Postgres, Cleanup::Shared)
    }

    /// An app on `engine` with the configuration adjusted; `None` when the engine is not
    /// available (PostgreSQL without `AGORA_TEST_DATABASE_URL`, outside CI).
    pub async fn on(engine: Engine, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        match engine {
            Engine::Sqlite => Some(Self::sqlite_with(adjust).await),
            Engine::Postgres => Self::postgres_with(adjust).await,
        }
    }

    /// The default test app on `engine` (the `db_test!` default).
    pub async fn plain(engine: Engine) -> Option<TestApp> {
        Self::on(engine, |_| {}).await
    }

    /// An app whose credentials state (revocations, sessions) lives in the Redis at
    /// `AGORA_TEST_REDIS_URL`.
    pub async fn redis(engine: Engine) -> Option<TestApp> {
        let url = redis_url()?;
        Self::on(engine, |c| c.redis_url = url).await
    }

    /// An app that signs access tokens with EdDSA (a fresh Ed25519 key in a temporary PEM file,
    /// `auth.jwt_private_key_file`). The key is kept in [`TestApp::ed25519`].
    pub async fn eddsa(engine: Engine) -> Option<TestApp> {
        let (pem, public) = ed25519_pem();
        let file = std::env::temp_dir().join(format!("agora-test-key-{}.pem", uuid::Uuid::new_v4().simple()));
        std::fs::write(&file, &pem).expect("write PEM");
        let path = file.display().to_string();
        let app = Self::on(engine, |c| c.auth.jwt_private_key_file = path).await;
        let _ = std::fs::remove_file(&file);
        app.map(|mut a| {
            a.ed25519 = Some((pem, public));
            a
        })
    }

    /// A second instance on the same database (and Redis, if configured) with the same
    /// configuration, like another replica behind a load balancer. It must be dropped before
    /// `self` (declare it later), which owns the database.
    pub async fn another_instance(&self) -> TestApp {
        let config: Config = (*self.state.config).clone();
        let app = App::build(config).await.expect("App::build of a second instance");
        Self::wrap(app, self.engine, Cleanup::Shared)
    }

    /// The schema name on PostgreSQL.
    pub fn pg_schema(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Postgres { schema, .. } => Some(schema),
            _ => None,
        }
    }

    /// The base URL on PostgreSQL.
    pub fn pg_base_url(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Postgres { base_url, .. } => Some(base_url),
            _ => None,
        }
    }

    /// Splits into the app (e.g. to `serve` it) and the guard that must outlive it.
    pub fn into_parts(self) -> (App, Cleanup) {
        (self.app, self.cleanup)
    }

    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> TestRequest {
        TestRequest {
            router: self.router.clone(),
            method,
            uri: path.to_string(),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> TestRequest {
        self.request(Method::GET, path)
    }

    /// `POST path`.
    pub fn post(&self, path: &str) -> TestRequest {
        self.request(Method::POST, path)
    }

    /// `PUT path`.
    pub fn put(&self, path: &str) -> TestRequest {
        self.request(Method::PUT, path)
    }

    /// `PATCH path`.
    pub fn patch(&self, path: &str) -> TestRequest {
        self.request(Method::PATCH, path)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> TestRequest {
        self.request(Method::DELETE, path)
    }

    // ---- credentials ----

    /// An access token for user `uid`, minted directly with the app's signing keys (fast
    /// setup; the server still intersects its scopes with the user's current role).
    pub fn token_for(&self, uid: i64) -> String {
        self.token_with_scopes(uid, Scopes::ALL)
    }

    /// Like [`TestApp::token_for`], limited to `scopes`.
    pub fn token_with_scopes(&self, uid: i64, scopes: Scopes) -> String {
        self.state.tokens.issue(format!("user:{uid}"), scopes, None, None).expect("issue token").0
    }

    /// `POST /v2/auth/token` with the password grant; returns the token response's `data`
    /// (`access_token`, `refresh_token`, …) and asserts 200.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let res = self
            .post("/v2/auth/token")
            .json(&json!({"grant_type": "password", "email": email, "password": password}))
            .send()
            .await;
        res.assert_status(200);
        res.data().clone()
    }

    /// Signs up through `POST /v2/users` (password [`PASSWORD`]) and logs in with the password
    /// grant: (the user as created, an access token).
    pub async fn signup_and_login(&self, email: &str) -> (Value, String) {
        let name = email.split('@').next().unwrap_or("user").to_string();
        let user = create_user(self, &name, email).await;
        let tokens = self.login(email, PASSWORD).await;
        (user, tokens["access_token"].as_str().expect("access_token").to_string())
    }

    /// Creates an administrator through the user service (password [`PASSWORD`]); returns it.
    pub async fn create_admin(&self, email: &str) -> User {
        let input =
            NewUser::try_from(&object(json!({"name": "Admin", "email": email, "password": PASSWORD, "role": "admin"})))
                .expect("valid admin");
        self.state.services.users.create(&Actor::operator(), input).await.expect("create admin")
    }

    /// An administrator of this app (created once, on first use) and an access token for it
    /// obtained with the password grant.
    pub async fn admin(&self) -> (i64, String) {
        self.admin
            .get_or_init(|| async {
                let email = unique_email("admin");
                let admin = self.create_admin(&email).await;
                let tokens = self.login(&email, PASSWORD).await;
                assert_eq!(tokens["scope"], json!("read write admin"), "admin login scopes");
                (admin.id, tokens["access_token"].as_str().expect("access_token").to_string())
            })
            .await
            .clone()
    }

    /// [`TestApp::admin`]'s access token.
    pub async fn admin_token(&self) -> String {
        self.admin().await.1
    }
}

/// A request being built.
pub struct TestRequest {
    router: Router,
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl TestRequest {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        let value = HeaderValue::from_str(value).expect("header value");
        self.headers.append(name, value);
        self
    }

    /// Adds a header with arbitrary (possibly non-UTF-8) bytes.
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        let value = HeaderValue::from_bytes(value).expect("header value");
        self.headers.append(name, value);
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// `X-API-Key: <key>`.
    pub fn api_key(self, key: &str) -> Self {
        self.header("x-api-key", key)
    }

    /// HTTP Basic credentials (OAuth client authentication).
    pub fn basic(self, user: &str, password: &str) -> Self {
        use base64::Engine;
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {b}"))
    }

    /// `Cookie: name=value`.
    pub fn cookie(self, name: &str, value: &str) -> Self {
        self.header("cookie", &format!("{name}={value}"))
    }

    /// An `application/x-www-form-urlencoded` body.
    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let body = serde_urlencoded::to_string(pairs).expect("encode form");
        self.body("application/x-www-form-urlencoded", body)
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json(self, value: &Value) -> Self {
        let bytes = serde_json::to_vec(value).expect("serialise body");
        self.body("application/json", bytes)
    }

    /// A raw body with the given content type.
    pub fn body(self, content_type: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", content_type).raw_body(bytes)
    }

    /// A raw body without touching the headers.
    pub fn raw_body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = bytes.into();
        self
    }

    /// Sends it through the router.
    pub async fn send(self) -> TestResponse {
        let mut req = Request::builder().method(self.method.clone()).uri(&self.uri);
        if let Some(h) = req.headers_mut() {
            *h = self.headers;
        }
        let req = req.body(Body::from(self.body)).expect("build request");
        let res = self.router.oneshot(req).await.expect("router is infallible");
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.expect("read body").to_bytes();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        TestResponse { method: self.method, uri: self.uri, status: parts.status, headers: parts.headers, body, bytes }
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    /// The request method (for messages).
    pub method: Method,
    /// The request URI (for messages).
    pub uri: String,
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The raw body.
    pub bytes: Bytes,
}

impl TestResponse {
    /// One header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of a header.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// `data` of a success envelope.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `data` as an array.
    pub fn items(&self) -> &Vec<Value> {
        self.body["data"].as_array().unwrap_or_else(|| panic!("data is not an array: {}", self.describe()))
    }

    /// Ids of the items in a list.
    pub fn ids(&self) -> Vec<i64> {
        self.items().iter().map(id).collect()
    }

    /// `pagination` of a list envelope.
    pub fn pagination(&self) -> &Value {
        &self.body["pagination"]
    }

    /// `error.code` of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The `field` of every `error.details` entry, in order.
    pub fn detail_fields(&self) -> Vec<String> {
        self.body["error"]["details"]
            .as_array()
            .map(|a| a.iter().map(|d| d["field"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }

    /// The detail entry for one field.
    pub fn detail(&self, field: &str) -> Option<&Value> {
        self.body["error"]["details"].as_array().and_then(|a| a.iter().find(|d| d["field"] == field))
    }

    /// Asserts `401 UNAUTHENTICATED` with a `WWW-Authenticate` challenge.
    #[track_caller]
    pub fn assert_unauthenticated(&self) -> &Self {
        self.assert_error(401, ErrorCode::Unauthenticated.as_str());
        assert!(self.header("www-authenticate").is_some(), "401 without WWW-Authenticate: {}", self.describe());
        self
    }

    /// Asserts a 401 whose `WWW-Authenticate` challenge says `invalid_token` (RFC 6750).
    #[track_caller]
    pub fn assert_invalid_token(&self) -> &Self {
        self.assert_unauthenticated();
        let challenge = self.header("www-authenticate").unwrap_or("");
        assert!(
            challenge.contains("invalid_token"),
            "challenge without invalid_token: {challenge:?}: {}",
            self.describe()
        );
        self
    }

    /// The value of a cookie set by `Set-Cookie`, with the attributes that followed it.
    pub fn set_cookie(&self, name: &str) -> Option<(String, String)> {
        self.header_all("set-cookie").into_iter().find_map(|c| {
            let (pair, attrs) = c.split_once(';').unwrap_or((c.as_str(), ""));
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| (v.to_string(), attrs.trim().to_string()))
        })
    }

    /// A one-line description for assertion messages.
    pub fn describe(&self) -> String {
        let mut text = self.text();
        if text.len() > 2000 {
            text.truncate(2000);
            text.push('…');
        }
        format!("{} {} → {} {}", self.method, self.uri, self.status, text)
    }

    /// Asserts the status.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status: {}", self.describe());
        self
    }

    /// Asserts an error envelope with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(self.body["success"], json!(false), "not an error envelope: {}", self.describe());
        assert_eq!(self.code(), code, "unexpected error code: {}", self.describe());
        self
    }

    /// Asserts `400 INVALID_QUERY` whose details name `param`.
    #[track_caller]
    pub fn assert_invalid_query(&self, param: &str) -> &Self {
        self.assert_error(400, ErrorCode::InvalidQuery.as_str());
        assert!(self.detail_fields().iter().any(|f| f == param), "details do not name `{param}`: {}", self.describe());
        self
    }

    /// Asserts `422 VALIDATION_ERROR` with exactly one detail per field in `fields` (any order).
    #[track_caller]
    pub fn assert_validation(&self, fields: &[&str]) -> &Self {
        self.assert_error(422, ErrorCode::ValidationError.as_str());
        let mut got = self.detail_fields();
        got.sort();
        let mut want: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "validation details differ: {}", self.describe());
        self
    }

    /// The `Link` header parsed into `(rel, target)` pairs.
    pub fn links(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for value in self.header_all("link") {
            for part in split_links(&value) {
                let Some(start) = part.find('<') else { continue };
                let Some(end) = part.find('>') else { continue };
                let target = part[start + 1..end].to_string();
                for param in part[end + 1..].split(';') {
                    let param = param.trim();
                    if let Some(rel) = param.strip_prefix("rel=") {
                        for r in rel.trim_matches('"').split_whitespace() {
                            out.push((r.to_string(), target.clone()));
                        }
                    }
                }
            }
        }
        out
    }

    /// The target of the `Link` with this rel.
    pub fn link(&self, rel: &str) -> Option<String> {
        self.links().into_iter().find(|(r, _)| r == rel).map(|(_, t)| t)
    }
}

/// Splits a `Link` value at the commas between links (not inside `<…>` or quotes).
fn split_links(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut in_uri, mut in_quote) = (false, false);
    for c in value.chars() {
        match c {
            '<' if !in_quote => in_uri = true,
            '>' if !in_quote => in_uri = false,
            '"' if !in_uri => in_quote = !in_quote,
            ',' if !in_uri && !in_quote => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// The `id` of a resource representation.
pub fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no integer id in {v}"))
}

/// A unique email address.
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Signs a user up through `POST /v2/users` (password [`PASSWORD`]); returns `data`.
pub async fn create_user(app: &TestApp, name: &str, email: &str) -> Value {
    let res = app.post("/v2/users").json(&json!({"name": name, "email": email, "password": PASSWORD})).send().await;
    res.assert_status(201);
    res.data().clone()
}

/// Creates a post through `POST /v2/posts` as user `author_id` (the author is the caller);
/// returns `data`.
pub async fn create_post(app: &TestApp, author_id: i64, title: &str, content: &str) -> Value {
    let res = app
        .post("/v2/posts")
        .bearer(&app.token_for(author_id))
        .json(&json!({"title": title, "content": content}))
        .send()
        .await;
    res.assert_status(201);
    assert_eq!(res.data()["author_id"], json!(author_id), "{}", res.describe());
    res.data().clone()
}

/// Creates a product through `POST /v2/products` as an administrator; returns `data`.
pub async fn create_product(app: &TestApp, name: &str, category: &str, price: i64, stock: i64) -> Value {
    create_product_with(app, &json!({"name": name, "category": category, "price": price, "stock": stock})).await
}

/// Creates a product from a full body as an administrator; returns `data`.
pub async fn create_product_with(app: &TestApp, body: &Value) -> Value {
    let res = app.post("/v2/products").bearer(&app.admin_token().await).json(body).send().await;
    res.assert_status(201);
    res.data().clone()
}

/// Inserts a product through the domain service directly, as an administrator (fast setup
/// for big data sets).
pub async fn seed_product(
    app: &TestApp,
    name: &str,
    description: &str,
    category: &str,
    price: i64,
    stock: i64,
) -> Product {
    let body = json!({"name": name, "description": description, "category": category, "price": price, "stock": stock});
    let input = NewProduct::try_from(&object(body)).expect("valid product");
    app.state.services.products.create(&Actor::operator(), input).await.expect("seed product")
}

/// The object inside `v` (empty for anything else).
pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// PKCE: a fresh `(code_verifier, S256 code_challenge)`.
pub fn pkce_pair() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Query parameters of a URL (or `Location`), decoded.
pub fn query_params(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let query = query.split('#').next().unwrap_or("");
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// One query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    query_params(url).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}
