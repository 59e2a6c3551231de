//! Rendering a validated `ListQuery` into SQL that both engines accept.
//!
//! Written by hand rather than with a query-builder crate because the whole surface is one
//! SELECT shape (filters, a search disjunction, a keyset predicate, ORDER BY, LIMIT/OFFSET),
//! the output must be identical on both engines (`$n` parameters, row values), and it keeps a
//! single rule that makes it safe: identifiers come only from `&'static str` whitelists in the
//! domain's resource specs, and every client value is a bound parameter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agora_core::list::{CountMode, KeysetPosition, ListQuery, PageRequest, SortDir, SortKey, Total, Value};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, FromRow};

use crate::SqlStore;
use crate::dialect::Dialect;

/// A table as lists see it.
#[derive(Debug)]
pub struct Table {
    /// Table name, or a join whose unqualified columns are `base`'s.
    pub name: &'static str,
    /// The SELECT column list (all of them `base`'s).
    pub columns: &'static str,
    /// Columns `q=` searches, case-insensitively.
    pub search: &'static [&'static str],
    /// The table whose rows the list returns: its ids key a deep page's deferred join, its id
    /// range is what SQLite samples to estimate a total, and `{base}_search` is its SQLite
    /// full-text index.
    pub base: &'static str,
    /// `base`'s id column as `name` can see it (qualified when `name` is a join).
    pub key: &'static str,
}

impl Table {
    /// A plain table keyed by `id`.
    pub const fn plain(name: &'static str, columns: &'static str, search: &'static [&'static str]) -> Table {
        Table { name, columns, search, base: name, key: "id" }
    }
}

/// How much a list's totals may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSettings {
    /// Totals up to this many rows are exact; above it they are estimates, unless the client
    /// asks for `count=exact`.
    pub exact_total_up_to: u64,
    /// How long an exact count (`count=exact`) may run before it gives way to an estimate.
    pub count_timeout: Duration,
}

impl Default for ListSettings {
    fn default() -> Self {
        Self { exact_total_up_to: 1_000, count_timeout: Duration::from_secs(2) }
    }
}

/// SQL text plus its parameters, numbered in order of first appearance.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sql {
    /// The statement.
    pub text: String,
    /// Values for `$1..$n`.
    pub params: Vec<Value>,
}

impl Sql {
    fn bind(&mut self, v: Value) -> String {
        self.params.push(v);
        format!("${}", self.params.len())
    }
}

/// Escapes LIKE metacharacters so `%`, `_` and `\` in a search term match themselves.
pub fn like_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// An FTS5 phrase matching `term` as a substring under the trigram tokenizer: the term in
/// double quotes (doubled inside), so every character — `%`, `_`, `*`, `"` — is literal.
pub fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// The shortest term a trigram index can find; shorter ones are matched by scanning.
const TRIGRAM: usize = 3;

/// How a search condition reaches its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchBy {
    /// Through the engine's substring index (pg_trgm GIN, SQLite FTS5 trigram).
    Index,
    /// Row by row, for a handful of sampled rows (SQLite's estimate).
    Scan,
}

fn where_clause(sql: &mut Sql, table: &Table, q: &ListQuery, dialect: Dialect, by: SearchBy) -> Vec<String> {
    let mut conds = Vec::new();
    for f in &q.filters {
        let p = sql.bind(f.value.clone());
        conds.push(format!("{} {} {}", f.column, f.op.sql(), p));
    }
    if let Some(term) = q.search.as_deref()
        && !table.search.is_empty()
    {
        let cond = match dialect {
            // `ILIKE` is what the pg_trgm GIN indexes serve; `\` is PostgreSQL's default
            // LIKE escape, which `like_pattern` uses.
            Dialect::Postgres => {
                let p = sql.bind(Value::Text(like_pattern(term)));
                let ors: Vec<String> = table.search.iter().map(|c| format!("{c} ILIKE {p}")).collect();
                format!("({})", ors.join(" OR "))
            }
            Dialect::Sqlite if by == SearchBy::Index && term.chars().count() >= TRIGRAM => {
                let p = sql.bind(Value::Text(fts_phrase(term)));
                format!("{} IN (SELECT rowid FROM {b}_search WHERE {b}_search MATCH {p})", table.key, b = table.base)
            }
            Dialect::Sqlite => {
                let p = sql.bind(Value::Text(like_pattern(term)));
                let ors: Vec<String> =
                    table.search.iter().map(|c| format!("LOWER({c}) LIKE {p} ESCAPE '\\'")).collect();
                format!("({})", ors.join(" OR "))
            }
        };
        conds.push(cond);
    }
    conds
}

fn effective_dir(k: &SortKey, backward: bool) -> SortDir {
    match (k.dir, backward) {
        (d, false) => d,
        (SortDir::Asc, true) => SortDir::Desc,
        (SortDir::Desc, true) => SortDir::Asc,
    }
}

fn cmp_op(d: SortDir) -> &'static str {
    match d {
        SortDir::Asc => ">",
        SortDir::Desc => "<",
    }
}

/// The keyset predicate: rows strictly after `pos` in the (possibly reversed) order. When every
/// key runs the same way it is a row-value comparison, which both planners turn into an index
/// range scan; mixed directions expand into the equivalent OR chain.
fn keyset(sql: &mut Sql, sort: &[SortKey], pos: &KeysetPosition) -> String {
    let dirs: Vec<SortDir> = sort.iter().map(|k| effective_dir(k, pos.backward)).collect();
    let params: Vec<String> = pos.values.iter().map(|v| sql.bind(v.clone())).collect();
    if dirs.iter().all(|d| *d == dirs[0]) {
        let cols: Vec<&str> = sort.iter().map(|k| k.column).collect();
        if cols.len() == 1 {
            return format!("{} {} {}", cols[0], cmp_op(dirs[0]), params[0]);
        }
        return format!("({}) {} ({})", cols.join(", "), cmp_op(dirs[0]), params.join(", "));
    }
    let mut ors = Vec::new();
    for i in 0..sort.len() {
        let mut ands: Vec<String> = (0..i).map(|j| format!("{} = {}", sort[j].column, params[j])).collect();
        ands.push(format!("{} {} {}", sort[i].column, cmp_op(dirs[i]), params[i]));
        ors.push(format!("({})", ands.join(" AND ")));
    }
    // The leading range conjunct lets the planner start from an index on the first key.
    let first_range = match dirs[0] {
        SortDir::Asc => ">=",
        SortDir::Desc => "<=",
    };
    format!("{} {} {} AND ({})", sort[0].column, first_range, params[0], ors.join(" OR "))
}

fn with_where(text: &mut String, conds: &[String]) {
    if !conds.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conds.join(" AND "));
    }
}

/// Renders the page query, fetching one row beyond the page to learn whether more follow.
///
/// A page [`DEFER_FROM`] rows or more deep by number or offset is a deferred join: the inner
/// query walks only the sort keys and ids (an index-only scan when an index holds them)
/// through the OFFSET, and only the page's own rows are then read whole. Without it, the
/// database reads and throws away every full row before the page.
///
/// A search on PostgreSQL reads its matches through the trigram index first and sorts them
/// (`OFFSET 0` keeps the planner from folding the two together). Left to itself the planner
/// may walk the sort's index instead, filtering row by row in the hope of meeting 20 matches
/// early; when the matches sit at the far end of the order, or there are none, that walk
/// reads the whole table. Reading the matches costs what the index says there are.
///
/// Since a search reads all its matches anyway, it counts them in the same statement
/// (`COUNT(*) OVER ()` as `full_count`) when the request wants a total: see [`counts_hits`].
pub fn render_list(table: &Table, q: &ListQuery, dialect: Dialect) -> Sql {
    let mut sql = Sql::default();
    let conds = where_clause(&mut sql, table, q, dialect, SearchBy::Index);
    let (backward, keyset_cond) = match &q.page {
        PageRequest::Cursor { position: Some(pos), .. } => (pos.backward, Some(keyset(&mut sql, &q.sort, pos))),
        _ => (false, None),
    };
    let order: Vec<String> = q
        .sort
        .iter()
        .map(|k| {
            let d = match effective_dir(k, backward) {
                SortDir::Asc => "ASC",
                SortDir::Desc => "DESC",
            };
            format!("{} {}", k.column, d)
        })
        .collect();
    let order = order.join(", ");
    let (limit, offset) = match &q.page {
        PageRequest::Page { page, per_page } => (*per_page, (page - 1) * per_page),
        PageRequest::Offset { offset, limit } => (*limit, *offset),
        PageRequest::Cursor { limit, .. } => (*limit, 0),
    };
    let searching = q.search.is_some() && !table.search.is_empty();
    let fenced = dialect == Dialect::Postgres && searching;
    let deferred = offset >= DEFER_FROM && !searching;
    let columns = if counts_hits(table, q) {
        format!("{}, COUNT(*) OVER () AS full_count", table.columns)
    } else {
        table.columns.to_string()
    };
    let mut text = if fenced {
        let mut hits = format!("SELECT {} FROM {}", table.columns, table.name);
        with_where(&mut hits, &conds);
        let mut text = format!("SELECT {columns} FROM ({hits} OFFSET 0) AS hits");
        with_where(&mut text, keyset_cond.as_slice());
        text
    } else {
        let mut text = if deferred {
            format!("SELECT {columns} FROM {} WHERE id IN (SELECT {} FROM {}", table.base, table.key, table.name)
        } else {
            format!("SELECT {columns} FROM {}", table.name)
        };
        let all: Vec<String> = conds.into_iter().chain(keyset_cond).collect();
        with_where(&mut text, &all);
        text
    };
    text.push_str(" ORDER BY ");
    text.push_str(&order);
    let lp = sql.bind(Value::Int(limit as i64 + 1));
    text.push_str(&format!(" LIMIT {lp}"));
    if offset > 0 {
        let op = sql.bind(Value::Int(offset as i64));
        text.push_str(&format!(" OFFSET {op}"));
    }
    if deferred {
        text.push_str(&format!(") ORDER BY {order}"));
    }
    sql.text = text;
    sql
}

/// Whether the page query of `q` also counts every row it matches (`full_count`): a search
/// that wants a total and starts from the beginning of its order (a keyset position would
/// leave the rows before it uncounted).
pub fn counts_hits(table: &Table, q: &ListQuery) -> bool {
    q.search.is_some()
        && !table.search.is_empty()
        && q.page.wants_total()
        && !matches!(q.page, PageRequest::Cursor { position: Some(_), .. })
}

/// A row of a page query that also counts its matches.
struct Counted<R> {
    row: R,
    full_count: i64,
}

impl<'r, R: FromRow<'r, SqliteRow>> FromRow<'r, SqliteRow> for Counted<R> {
    fn from_row(row: &'r SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Counted { row: R::from_row(row)?, full_count: sqlx::Row::try_get(row, "full_count")? })
    }
}

impl<'r, R: FromRow<'r, PgRow>> FromRow<'r, PgRow> for Counted<R> {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Counted { row: R::from_row(row)?, full_count: sqlx::Row::try_get(row, "full_count")? })
    }
}

/// The OFFSET from which a page is a deferred join. Nearer the start, reading the few whole
/// rows before the page costs less than the join's second pass.
pub const DEFER_FROM: u64 = 100;

/// What a count statement counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Every matching row.
    Exact,
    /// Matching rows, stopping at this many.
    UpTo(u64),
    /// PostgreSQL: the planner's estimate (an `EXPLAIN`, which reads no rows).
    Plan,
    /// SQLite: matching rows among those with the sampled ids `lo, lo + step, … ≤ hi`.
    Sample {
        /// First sampled id.
        lo: i64,
        /// Distance between sampled ids.
        step: i64,
        /// Last id.
        hi: i64,
    },
}

/// Renders a count of the rows `q` selects (its filters and search; not its page).
pub fn render_count(table: &Table, q: &ListQuery, dialect: Dialect, count: Count) -> Sql {
    let mut sql = Sql::default();
    let text = match count {
        Count::Exact => {
            let conds = where_clause(&mut sql, table, q, dialect, SearchBy::Index);
            let mut text = format!("SELECT COUNT(*) FROM {}", table.name);
            with_where(&mut text, &conds);
            text
        }
        Count::UpTo(n) => {
            let conds = where_clause(&mut sql, table, q, dialect, SearchBy::Index);
            let mut text = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {}", table.name);
            with_where(&mut text, &conds);
            let p = sql.bind(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)));
            text.push_str(&format!(" LIMIT {p}) capped"));
            text
        }
        Count::Plan => {
            let conds = where_clause(&mut sql, table, q, dialect, SearchBy::Index);
            let mut text = format!("EXPLAIN SELECT 1 FROM {}", table.name);
            with_where(&mut text, &conds);
            text
        }
        Count::Sample { lo, step, hi } => {
            // Parameters are numbered in order of first appearance (SQLite numbers them so).
            let (lo, step, hi) = (sql.bind(Value::Int(lo)), sql.bind(Value::Int(step)), sql.bind(Value::Int(hi)));
            let mut text = format!(
                "WITH RECURSIVE probe(k) AS (SELECT {lo} UNION ALL SELECT k + {step} FROM probe WHERE k + {step} <= {hi}) \
                 SELECT COUNT(*) FROM probe, {} WHERE {} = probe.k",
                table.name, table.key
            );
            for c in where_clause(&mut sql, table, q, dialect, SearchBy::Scan) {
                text.push_str(" AND ");
                text.push_str(&c);
            }
            text
        }
    };
    sql.text = text;
    sql
}

/// `$1, $2, …` for `n` values: the list of an `IN (…)` whose values are bound.
pub fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Fetches rows of `R` for a rendered statement on whichever engine is live.
pub async fn fetch_all<R>(store: &SqlStore, sql: Sql) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
{
    let Sql { text, params } = sql;
    crate::per_engine!(store,
    sqlite c => {
        crate::bind_values!(sqlite, sqlx::query_as::<_, R>(AssertSqlSafe(text)), &params).fetch_all(c).await
    },
    postgres c => {
        crate::bind_values!(postgres, sqlx::query_as::<_, R>(AssertSqlSafe(text)), &params).fetch_all(c).await
    })
}

/// Runs a rendered `COUNT(*)`.
pub async fn fetch_count(store: &SqlStore, sql: Sql) -> Result<i64, sqlx::Error> {
    let Sql { text, params } = sql;
    crate::per_engine!(store,
    sqlite c => {
        crate::bind_values!(sqlite, sqlx::query_scalar::<_, i64>(AssertSqlSafe(text)), &params).fetch_one(c).await
    },
    postgres c => {
        crate::bind_values!(postgres, sqlx::query_scalar::<_, i64>(AssertSqlSafe(text)), &params).fetch_one(c).await
    })
}

/// Runs a rendered exact count that gives up after `timeout`: PostgreSQL's `statement_timeout`
/// set for one transaction, SQLite's progress handler interrupting the statement. `Ok(None)`
/// is a count that ran out of time.
async fn fetch_count_within(store: &SqlStore, sql: Sql, timeout: Duration) -> Result<Option<i64>, sqlx::Error> {
    let Sql { text, params } = sql;
    let result = crate::per_engine!(store,
    sqlite c => {
        async {
            let deadline = Instant::now() + timeout;
            c.lock_handle().await?.set_progress_handler(10_000, move || Instant::now() < deadline);
            let n = crate::bind_values!(sqlite, sqlx::query_scalar::<_, i64>(AssertSqlSafe(text)), &params)
                .fetch_one(&mut *c)
                .await;
            c.lock_handle().await?.remove_progress_handler();
            n
        }
        .await
    },
    postgres c => {
        async {
            let mut tx = sqlx::Connection::begin(&mut *c).await?;
            sqlx::query("SELECT set_config('statement_timeout', $1, true)")
                .bind(timeout.as_millis().max(1).to_string())
                .execute(&mut *tx)
                .await?;
            let n = crate::bind_values!(postgres, sqlx::query_scalar::<_, i64>(AssertSqlSafe(text)), &params)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(n)
        }
        .await
    });
    match result {
        Ok(n) => Ok(Some(n)),
        Err(e) if ran_out_of_time(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// PostgreSQL's `query_canceled` (a statement timeout) or SQLite's `SQLITE_INTERRUPT`.
fn ran_out_of_time(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "57014" || c == "9")
}

/// The planner's row estimate: the `rows=` of the top node of PostgreSQL's `EXPLAIN`.
async fn planner_estimate(store: &SqlStore, sql: Sql) -> Result<i64, sqlx::Error> {
    let plan: Vec<String> = fetch_all::<(String,)>(store, sql).await?.into_iter().map(|r| r.0).collect();
    Ok(plan.first().and_then(|line| plan_rows(line)).unwrap_or(0))
}

/// `rows=N` in one line of a text plan.
fn plan_rows(line: &str) -> Option<i64> {
    let at = line.find(" rows=")? + " rows=".len();
    let digits: String = line[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// How many ids SQLite's estimate samples.
const SAMPLE: i64 = 2_000;

/// SQLite's estimate: it has no planner estimate to read, so the filters are applied to the
/// rows at `SAMPLE` evenly spaced ids and the matches scaled up to the whole id range. Ids
/// are dense (deleted rows simply do not match), and the sample costs `SAMPLE` primary-key
/// lookups whatever the table's size. Coarse when matches are rare, which is where the
/// threshold's floor takes over.
async fn sampled_estimate(store: &SqlStore, table: &Table, q: &ListQuery) -> Result<i64, sqlx::Error> {
    let bounds = Sql { text: format!("SELECT MIN(id), MAX(id) FROM {}", table.base), params: Vec::new() };
    let rows: Vec<(Option<i64>, Option<i64>)> = fetch_all(store, bounds).await?;
    let Some((Some(lo), Some(hi))) = rows.first().copied() else { return Ok(0) };
    let span = hi - lo + 1;
    let step = (span / SAMPLE).max(1);
    let probes = (hi - lo) / step + 1;
    let matched = fetch_count(store, render_count(table, q, Dialect::Sqlite, Count::Sample { lo, step, hi })).await?;
    Ok(((matched as i128 * span as i128) / probes as i128).min(i64::MAX as i128) as i64)
}

/// Recent estimates, by the statement that would plan them. An estimate moves only as fast as
/// the table's statistics (PostgreSQL refreshes them on `ANALYZE`), so a page that asks again
/// within [`ESTIMATE_TTL`] reuses it rather than paying another round trip. Bounded: when it
/// holds [`ESTIMATES_KEPT`] entries it starts over.
#[derive(Debug, Default)]
pub struct Estimates(Mutex<HashMap<String, (i64, Instant)>>);

/// How long an estimate is reused.
const ESTIMATE_TTL: Duration = Duration::from_secs(10);
/// Most estimates kept.
const ESTIMATES_KEPT: usize = 1_024;

impl Estimates {
    fn get(&self, key: &str) -> Option<i64> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).filter(|(_, at)| at.elapsed() < ESTIMATE_TTL).map(|(n, _)| *n)
    }

    fn put(&self, key: String, n: i64) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= ESTIMATES_KEPT {
            map.clear();
        }
        map.insert(key, (n, Instant::now()));
    }
}

/// What an estimate is remembered by: the statement that plans it, with its values.
fn estimate_key(plan: &Sql) -> String {
    format!("{}\u{0}{:?}", plan.text, plan.params)
}

/// The estimate for `q`'s rows on whichever engine is live, remembered under `key`. `plan` is
/// `q`'s [`Count::Plan`] statement (what PostgreSQL explains).
async fn estimate(store: &SqlStore, table: &Table, q: &ListQuery, plan: Sql, key: String) -> Result<i64, sqlx::Error> {
    if let Some(n) = store.estimates().get(&key) {
        return Ok(n);
    }
    let n = match store.dialect() {
        Dialect::Postgres => planner_estimate(store, plan).await?,
        Dialect::Sqlite => sampled_estimate(store, table, q).await?,
    };
    store.estimates().put(key, n);
    Ok(n)
}

/// The total of a page whose rows are in hand: read off the page when it reaches the end,
/// else counted exactly up to the threshold and estimated above it (or counted exactly
/// within the timeout for `count=exact`). An estimate is never below what the page proves.
async fn total(store: &SqlStore, table: &Table, q: &ListQuery, got: u64, has_more: bool) -> Result<Total, sqlx::Error> {
    let offset = match &q.page {
        PageRequest::Page { page, per_page } => Some((page - 1) * per_page),
        PageRequest::Offset { offset, .. } => Some(*offset),
        PageRequest::Cursor { position: None, .. } => Some(0),
        PageRequest::Cursor { position: Some(_), .. } => None,
    };
    if let Some(offset) = offset
        && !has_more
        && (got > 0 || offset == 0)
    {
        return Ok(Total::exact(i64::try_from(offset + got).unwrap_or(i64::MAX)));
    }
    let proven = i64::try_from(offset.unwrap_or(0) + got + u64::from(has_more)).unwrap_or(i64::MAX);
    let settings = store.list_settings();
    let dialect = store.dialect();
    let plan = render_count(table, q, dialect, Count::Plan);
    let key = estimate_key(&plan);
    if q.count == CountMode::Exact {
        let exact = render_count(table, q, dialect, Count::Exact);
        if let Some(n) = fetch_count_within(store, exact, settings.count_timeout).await? {
            return Ok(Total::exact(n));
        }
        return Ok(Total { rows: estimate(store, table, q, plan, key).await?.max(proven), estimate: true });
    }
    let threshold = settings.exact_total_up_to;
    let floor = i64::try_from(threshold.saturating_add(1)).unwrap_or(i64::MAX);
    // A recent estimate far above the threshold spares the capped count: even a planner
    // whose statistics are ten times off would still put the total above it.
    if let Some(n) = store.estimates().get(&key)
        && n / 10 > floor
    {
        return Ok(Total { rows: n.max(proven), estimate: true });
    }
    if proven < floor {
        let n = fetch_count(store, render_count(table, q, dialect, Count::UpTo(threshold.saturating_add(1)))).await?;
        if n < floor {
            return Ok(Total::exact(n));
        }
    }
    Ok(Total { rows: estimate(store, table, q, plan, key).await?.max(floor).max(proven), estimate: true })
}

/// Runs a list query end to end: the page, the total if wanted, and direction handling.
pub async fn list<R, T>(
    store: &SqlStore,
    table: &Table,
    q: &ListQuery,
    map: fn(R) -> T,
) -> Result<agora_core::list::Fetched<T>, sqlx::Error>
where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
{
    let page_sql = render_list(table, q, store.dialect());
    let limit = q.page.limit() as usize;
    let (mut rows, counted) = if counts_hits(table, q) {
        let rows: Vec<Counted<R>> = fetch_all(store, page_sql).await?;
        let counted = rows.first().map(|r| r.full_count);
        (rows.into_iter().map(|r| r.row).collect::<Vec<R>>(), counted)
    } else {
        (fetch_all(store, page_sql).await?, None)
    };
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    if matches!(&q.page, PageRequest::Cursor { position: Some(p), .. } if p.backward) {
        rows.reverse();
    }
    let total = match counted {
        Some(n) => Some(Total::exact(n)),
        None if q.page.wants_total() => Some(total(store, table, q, rows.len() as u64, has_more).await?),
        None => None,
    };
    Ok(agora_core::list::Fetched { rows: rows.into_iter().map(map).collect(), has_more, total })
}

/// The first page (`q`'s limit, plus one row to tell whether more follow) of each of several
/// parents' rows — each author's newest posts, each post's first comments — in one statement:
/// `ROW_NUMBER()` over a window partitioned by the parent column, in `q`'s order. Both engines
/// have window functions. Rows come grouped by parent, each group in `q`'s order.
pub async fn first_per_parent<R, T>(
    store: &SqlStore,
    table: &Table,
    parent: &'static str,
    ids: &[i64],
    q: &ListQuery,
    map: fn(R) -> T,
) -> Result<Vec<T>, sqlx::Error>
where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let order = q
        .sort
        .iter()
        .map(|k| format!("{} {}", k.column, if k.dir == SortDir::Desc { "DESC" } else { "ASC" }))
        .collect::<Vec<_>>()
        .join(", ");
    let columns = table.columns;
    let text = format!(
        "SELECT {columns} FROM (SELECT {columns}, ROW_NUMBER() OVER (PARTITION BY {parent} ORDER BY {order}) AS page_rank \
         FROM {name} WHERE {parent} IN ({ids})) ranked WHERE page_rank <= ${n} ORDER BY {parent}, {order}",
        name = table.name,
        ids = placeholders(ids.len()),
        n = ids.len() + 1,
    );
    let mut params: Vec<Value> = ids.iter().map(|i| Value::Int(*i)).collect();
    params.push(Value::Int(i64::try_from(q.page.limit()).unwrap_or(i64::MAX).saturating_add(1)));
    let rows: Vec<R> = fetch_all(store, Sql { text, params }).await?;
    Ok(rows.into_iter().map(map).collect())
}

/// Runs a static statement with bound values; returns rows affected.
pub async fn execute(store: &SqlStore, sql: &'static str, params: &[Value]) -> Result<u64, sqlx::Error> {
    crate::per_engine!(store,
    sqlite c => {
        crate::bind_values!(sqlite, sqlx::query(sql), params).execute(c).await.map(|r| r.rows_affected())
    },
    postgres c => {
        crate::bind_values!(postgres, sqlx::query(sql), params).execute(c).await.map(|r| r.rows_affected())
    })
}

/// Fetches at most one row of a static statement.
pub async fn fetch_optional<R>(store: &SqlStore, sql: &'static str, params: &[Value]) -> Result<Option<R>, sqlx::Error>
where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
{
    crate::per_engine!(store,
    sqlite c => {
        crate::bind_values!(sqlite, sqlx::query_as::<_, R>(sql), params).fetch_optional(c).await
    },
    postgres c => {
        crate::bind_values!(postgres, sqlx::query_as::<_, R>(sql), params).fetch_optional(c).await
    })
}

/// Fetches every row of a static statement.
pub async fn fetch_rows<R>(store: &SqlStore, sql: &'static str, params: &[Value]) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
{
    crate::per_engine!(store,
    sqlite c => {
        crate::bind_values!(sqlite, sqlx::query_as::<_, R>(sql), params).fetch_all(c).await
    },
    postgres c => {
        crate::bind_values!(postgres, sqlx::query_as::<_, R>(sql), params).fetch_all(c).await
    })
}

#[cfg(test)]
mod tests {
    use agora_core::list::{Filter, FilterOp};

    use super::*;

    static USERS: Table = Table::plain("users", "id, name", &["name"]);
    static FOLLOWERS: Table = Table {
        name: "users JOIN follows ON follows.follower_id = users.id",
        columns: "id, name",
        search: &["name"],
        base: "users",
        key: "users.id",
    };

    fn query(search: Option<&str>, page: PageRequest) -> ListQuery {
        ListQuery {
            sort: vec![
                SortKey { column: "created_at", dir: SortDir::Desc },
                SortKey { column: "id", dir: SortDir::Desc },
            ],
            filters: vec![Filter { column: "role", op: FilterOp::Eq, value: Value::Text("user".into()) }],
            search: search.map(str::to_string),
            page,
            fields: None,
            scope: String::new(),
            count: CountMode::Estimated,
        }
    }

    fn pages() -> Vec<PageRequest> {
        let position = KeysetPosition { values: vec![Value::Int(5), Value::Int(6)], backward: true };
        vec![
            PageRequest::Cursor { limit: 20, position: None, include_total: true },
            PageRequest::Cursor { limit: 20, position: Some(position), include_total: false },
            PageRequest::Page { page: 10, per_page: 20 },
            PageRequest::Offset { offset: 7, limit: 5 },
        ]
    }

    /// The `$n` of a statement, in order of first appearance.
    fn first_appearances(text: &str) -> Vec<usize> {
        let mut seen = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'$' {
                let digits: String = text[i + 1..].chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = digits.parse::<usize>()
                    && !seen.contains(&n)
                {
                    seen.push(n);
                }
                i += digits.len().max(1);
            } else {
                i += 1;
            }
        }
        seen
    }

    /// SQLite numbers parameters by first appearance whatever their digits say, so every
    /// statement must name `$1, $2, …` in that order, and bind exactly as many values.
    #[test]
    fn parameters_appear_in_their_binding_order() {
        for table in [&USERS, &FOLLOWERS] {
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                for search in [None, Some("ab"), Some("user 12")] {
                    for page in pages() {
                        let q = query(search, page);
                        let mut statements = vec![render_list(table, &q, dialect)];
                        for count in
                            [Count::Exact, Count::UpTo(1001), Count::Plan, Count::Sample { lo: 1, step: 2, hi: 9 }]
                        {
                            statements.push(render_count(table, &q, dialect, count));
                        }
                        for sql in statements {
                            let order = first_appearances(&sql.text);
                            assert_eq!(order, (1..=sql.params.len()).collect::<Vec<_>>(), "{}", sql.text);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn deep_pages_defer_the_join_and_first_pages_do_not() {
        let first = render_list(&USERS, &query(None, pages()[0].clone()), Dialect::Postgres);
        assert!(!first.text.contains(" IN (SELECT"), "{}", first.text);
        let deep = render_list(&FOLLOWERS, &query(None, pages()[2].clone()), Dialect::Sqlite);
        assert_eq!(
            deep.text,
            "SELECT id, name FROM users WHERE id IN (SELECT users.id FROM users JOIN follows ON follows.follower_id = users.id \
             WHERE role = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3) ORDER BY created_at DESC, id DESC"
        );
        assert_eq!(deep.params[1..], [Value::Int(21), Value::Int(180)]);
        let near = render_list(&FOLLOWERS, &query(None, PageRequest::Page { page: 2, per_page: 20 }), Dialect::Sqlite);
        assert!(!near.text.contains(" IN (SELECT"), "{}", near.text);
    }

    #[test]
    fn search_goes_through_each_engines_index() {
        let q = query(Some("user 12"), pages()[0].clone());
        let pg = render_list(&USERS, &q, Dialect::Postgres);
        // Reading every match, the search counts them as it goes (this page wants a total).
        assert!(
            pg.text.starts_with(
                "SELECT id, name, COUNT(*) OVER () AS full_count FROM (SELECT id, name FROM users \
                 WHERE role = $1 AND (name ILIKE $2) OFFSET 0) AS hits ORDER BY"
            ),
            "{}",
            pg.text
        );
        assert_eq!(pg.params[1], Value::Text("%user 12%".into()));
        let lite = render_list(&USERS, &q, Dialect::Sqlite);
        assert!(
            lite.text.contains("id IN (SELECT rowid FROM users_search WHERE users_search MATCH $2)"),
            "{}",
            lite.text
        );
        assert_eq!(lite.params[1], Value::Text("\"user 12\"".into()));
        // Below three characters a trigram index cannot help: SQLite matches row by row.
        let short = render_list(&USERS, &query(Some("u%"), pages()[0].clone()), Dialect::Sqlite);
        assert!(short.text.contains("LOWER(name) LIKE $2 ESCAPE '\\'"), "{}", short.text);
        assert_eq!(short.params[1], Value::Text("%u\\%%".into()));
    }

    #[test]
    fn fts_phrases_keep_every_character_literal() {
        assert_eq!(fts_phrase("a%b_c"), "\"a%b_c\"");
        assert_eq!(fts_phrase("say \"hi\" *now*"), "\"say \"\"hi\"\" *now*\"");
        assert_eq!(fts_phrase("OR AND NOT"), "\"OR AND NOT\"");
    }

    #[test]
    fn plan_rows_reads_the_top_node() {
        assert_eq!(plan_rows("Seq Scan on users  (cost=0.00..1834.00 rows=100185 width=4)"), Some(100185));
        assert_eq!(plan_rows("Bitmap Heap Scan on users  (cost=55.84..2044.27 rows=1012 width=4)"), Some(1012));
        assert_eq!(plan_rows("  Recheck Cond: (name ~~* '%rows=%'::text)"), None);
    }
}
