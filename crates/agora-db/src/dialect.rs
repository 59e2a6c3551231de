//! The few places where SQLite and PostgreSQL really differ.
//!
//! Timestamps: PostgreSQL stores `TIMESTAMPTZ` and binds `DateTime<Utc>`; SQLite stores TEXT,
//! so every timestamp written or compared there goes through [`sqlite_time`], one fixed-width
//! UTC format whose lexicographic order is its chronological order. That is what makes
//! keyset comparisons on `created_at` correct on SQLite.

use chrono::{DateTime, Utc};

/// Which SQL a statement is rendered in, where the engines' best forms differ (search
/// through pg_trgm or FTS5; a planner estimate or a sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The one SQLite text form of a timestamp: RFC 3339, microseconds, `+00:00`.
pub fn sqlite_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// Binds a list of [`agora_core::list::Value`]s onto a query for the given engine. The
/// engines differ only in how a timestamp (and a typed `NULL` timestamp) is bound.
#[macro_export]
macro_rules! bind_values {
    (sqlite, $q:expr, $vals:expr) => {
        $crate::bind_values!(@each $q, $vals, $crate::dialect::sqlite_time, None::<String>)
    };
    (postgres, $q:expr, $vals:expr) => {
        $crate::bind_values!(@each $q, $vals, |t: &chrono::DateTime<chrono::Utc>| *t, None::<chrono::DateTime<chrono::Utc>>)
    };
    (@each $q:expr, $vals:expr, $time:expr, $null_time:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                agora_core::list::Value::Int(i) => q.bind(*i),
                agora_core::list::Value::Text(s) => q.bind(s.clone()),
                agora_core::list::Value::Bool(b) => q.bind(*b),
                agora_core::list::Value::Time(t) => q.bind(($time)(t)),
                agora_core::list::Value::Null(agora_core::list::ValueKind::Int) => q.bind(None::<i64>),
                agora_core::list::Value::Null(agora_core::list::ValueKind::Text) => q.bind(None::<String>),
                agora_core::list::Value::Null(agora_core::list::ValueKind::Time) => q.bind($null_time),
            };
        }
        q
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_order_is_time_order() {
        let a = Utc.timestamp_micros(1_700_000_000_000_000).single().unwrap_or_default();
        let b = Utc.timestamp_micros(1_700_000_000_000_001).single().unwrap_or_default();
        let c = Utc.timestamp_micros(1_700_000_001_000_000).single().unwrap_or_default();
        assert!(sqlite_time(&a) < sqlite_time(&b));
        assert!(sqlite_time(&b) < sqlite_time(&c));
        assert_eq!(sqlite_time(&a).len(), sqlite_time(&c).len());
    }
}
