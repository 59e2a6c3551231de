//! Rendering a validated `ListQuery` into SQL that both engines accept.
//!
//! Written by hand rather than with a query-builder crate because the whole surface is one
//! SELECT shape (filters, a search disjunction, a keyset predicate, ORDER BY, LIMIT/OFFSET),
//! the output must be identical on both engines (`$n` parameters, row values), and it keeps a
//! single rule that makes it safe: identifiers come only from `&'static str` whitelists in the
//! domain's resource specs, and every client value is a bound parameter.

use agora_core::list::{Filter, KeysetPosition, ListQuery, PageRequest, SortDir, SortKey, Value};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, FromRow};

use crate::SqlStore;

/// A table as lists see it.
#[derive(Debug)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// The SELECT column list.
    pub columns: &'static str,
    /// Columns `q=` searches, case-insensitively.
    pub search: &'static [&'static str],
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

fn where_clause(sql: &mut Sql, table: &Table, filters: &[Filter], search: Option<&str>) -> Vec<String> {
    let mut conds = Vec::new();
    for f in filters {
        let p = sql.bind(f.value.clone());
        conds.push(format!("{} {} {}", f.column, f.op.sql(), p));
    }
    if let Some(term) = search
        && !table.search.is_empty()
    {
        let p = sql.bind(Value::Text(like_pattern(term)));
        let ors: Vec<String> = table.search.iter().map(|c| format!("LOWER({c}) LIKE {p} ESCAPE '\\'")).collect();
        conds.push(format!("({})", ors.join(" OR ")));
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

/// Renders the page query (fetching one row beyond the page, to learn whether more follow) and,
/// when the page needs it, the count query.
pub fn render_list(table: &Table, q: &ListQuery) -> (Sql, Option<Sql>) {
    let mut sql = Sql::default();
    let mut conds = where_clause(&mut sql, table, &q.filters, q.search.as_deref());
    let count = if q.page.wants_total() {
        let mut c = Sql { text: String::new(), params: sql.params.clone() };
        c.text = format!("SELECT COUNT(*) FROM {}", table.name);
        if !conds.is_empty() {
            c.text.push_str(" WHERE ");
            c.text.push_str(&conds.join(" AND "));
        }
        Some(c)
    } else {
        None
    };
    let backward = match &q.page {
        PageRequest::Cursor { position: Some(pos), .. } => {
            conds.push(keyset(&mut sql, &q.sort, pos));
            pos.backward
        }
        _ => false,
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
    let (limit, offset) = match &q.page {
        PageRequest::Page { page, per_page } => (*per_page, (page - 1) * per_page),
        PageRequest::Offset { offset, limit } => (*limit, *offset),
        PageRequest::Cursor { limit, .. } => (*limit, 0),
    };
    let mut text = format!("SELECT {} FROM {}", table.columns, table.name);
    if !conds.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conds.join(" AND "));
    }
    text.push_str(" ORDER BY ");
    text.push_str(&order.join(", "));
    let lp = sql.bind(Value::Int(limit as i64 + 1));
    text.push_str(&format!(" LIMIT {lp}"));
    if offset > 0 {
        let op = sql.bind(Value::Int(offset as i64));
        text.push_str(&format!(" OFFSET {op}"));
    }
    sql.text = text;
    (sql, count)
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

/// Runs a list query end to end: the page, the count if wanted, and direction handling.
pub async fn list<R, T>(
    store: &SqlStore,
    table: &Table,
    q: &ListQuery,
    map: fn(R) -> T,
) -> Result<agora_core::list::Fetched<T>, sqlx::Error>
where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
{
    let (page_sql, count_sql) = render_list(table, q);
    let limit = q.page.limit() as usize;
    let mut rows: Vec<R> = fetch_all(store, page_sql).await?;
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    if matches!(&q.page, PageRequest::Cursor { position: Some(p), .. } if p.backward) {
        rows.reverse();
    }
    let total = match count_sql {
        Some(c) => Some(fetch_count(store, c).await?),
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
