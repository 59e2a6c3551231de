use super::*;
use proptest::prelude::*;

static SPEC: ResourceSpec = ResourceSpec {
    name: "things",
    fields: &["id", "name", "price", "created_at"],
    sortable: &[
        ("id", ValueKind::Int),
        ("name", ValueKind::Text),
        ("price", ValueKind::Int),
        ("created_at", ValueKind::Time),
    ],
    default_sort: &[SortKey { column: "id", dir: SortDir::Asc }],
    filters: &[FilterSpec {
        param: "price_min",
        kind: filters::Kind::Int,
        description: "",
        parse: |r| filters::int("price", FilterOp::Gte, r),
    }],
};

fn key() -> CursorKey {
    CursorKey::new(b"k".to_vec())
}

fn q(pairs: &[(&str, &str)], style: DefaultStyle) -> DomainResult<ListQuery> {
    let params: Vec<(String, String)> = pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    parse_list_query(&SPEC, &params, style, vec![], &key())
}

fn param_of(e: DomainError) -> String {
    assert_eq!(e.code, crate::ErrorCode::InvalidQuery);
    e.details[0].field.clone()
}

#[test]
fn defaults_per_version() {
    assert_eq!(q(&[], DefaultStyle::Page).map(|q| q.page), Ok(PageRequest::Page { page: 1, per_page: 20 }));
    assert_eq!(
        q(&[], DefaultStyle::Cursor).map(|q| q.page),
        Ok(PageRequest::Cursor { limit: 20, position: None, include_total: false })
    );
    assert_eq!(
        q(&[("limit", "5")], DefaultStyle::Page).map(|q| q.page),
        Ok(PageRequest::Offset { offset: 0, limit: 5 })
    );
}

#[test]
fn bad_parameters_are_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("per_page", "101")], "per_page"),
        (&[("per_page", "0")], "per_page"),
        (&[("page", "0")], "page"),
        (&[("page", "x")], "page"),
        (&[("limit", "1000")], "limit"),
        (&[("sort", "password")], "sort"),
        (&[("sort", "name,name")], "sort"),
        (&[("fields", "id,secret")], "fields"),
        (&[("fields", "")], "fields"),
        (&[("cursor", "abc")], "cursor"),
        (&[("page", "1"), ("cursor", "x")], "page"),
        (&[("offset", "1"), ("cursor", "x")], "cursor"),
        (&[("colour", "red")], "colour"),
        (&[("price_min", "cheap")], "price_min"),
        (&[("after_id", "x")], "after_id"),
        (&[("after_id", "1"), ("sort", "name")], "after_id"),
        (&[("include_total", "maybe")], "include_total"),
    ];
    for (pairs, param) in cases {
        let err = q(pairs, DefaultStyle::Cursor).expect_err(&format!("{pairs:?} should fail"));
        assert_eq!(param_of(err), *param, "{pairs:?}");
    }
}

#[test]
fn multi_sort_gets_tiebreak() {
    let got = q(&[("sort", "name,-price")], DefaultStyle::Cursor).map(|q| q.sort);
    assert_eq!(
        got,
        Ok(vec![
            SortKey { column: "name", dir: SortDir::Asc },
            SortKey { column: "price", dir: SortDir::Desc },
            SortKey { column: "id", dir: SortDir::Desc },
        ])
    );
}

#[derive(Debug, Clone)]
struct Row(i64, String);
impl Sortable for Row {
    fn sort_value(&self, column: &str) -> Value {
        match column {
            "name" => Value::Text(self.1.clone()),
            _ => Value::Int(self.0),
        }
    }
}

#[test]
fn cursor_binds_sort_and_filters() {
    let first = q(&[("sort", "name"), ("limit", "1")], DefaultStyle::Cursor).expect("parse");
    let page = first
        .finish(Fetched { rows: vec![Row(1, "a".into()), Row(2, "b".into())], has_more: true, total: None }, &key());
    let PageInfo::Cursor { next_cursor: Some(c), prev_cursor: None, has_more: true, .. } = page.info else {
        panic!("unexpected {:?}", page.info)
    };
    // Same sort: accepted, positioned after row 1.
    let next = q(&[("sort", "name"), ("limit", "1"), ("cursor", &c)], DefaultStyle::Cursor).expect("parse");
    assert_eq!(
        next.page,
        PageRequest::Cursor {
            limit: 1,
            position: Some(KeysetPosition { values: vec![Value::Text("a".into()), Value::Int(1)], backward: false }),
            include_total: false
        }
    );
    // Other sort or other filters: refused.
    assert!(q(&[("sort", "-name"), ("cursor", &c)], DefaultStyle::Cursor).is_err());
    assert!(q(&[("sort", "name"), ("price_min", "3"), ("cursor", &c)], DefaultStyle::Cursor).is_err());
}

proptest! {
    #[test]
    fn parser_never_panics(pairs in proptest::collection::vec(("[a-z_]{1,12}", ".{0,20}"), 0..6), cursor_default in any::<bool>()) {
        let style = if cursor_default { DefaultStyle::Cursor } else { DefaultStyle::Page };
        let params: Vec<(String, String)> = pairs;
        if let Ok(lq) = parse_list_query(&SPEC, &params, style, vec![], &key()) {
            prop_assert!(lq.page.limit() >= 1 && lq.page.limit() <= MAX_PAGE_SIZE);
            prop_assert_eq!(lq.sort.last().map(|k| k.column), Some("id"));
        }
    }

    #[test]
    fn page_sizes_in_range_are_accepted(n in 1u64..=100) {
        let s = n.to_string();
        prop_assert_eq!(q(&[("per_page", &s)], DefaultStyle::Page).map(|q| q.page.limit()), Ok(n));
        prop_assert_eq!(q(&[("limit", &s)], DefaultStyle::Cursor).map(|q| q.page.limit()), Ok(n));
    }

    #[test]
    fn page_sizes_out_of_range_are_refused(n in 101u64..10_000_000) {
        let s = n.to_string();
        prop_assert!(q(&[("per_page", &s)], DefaultStyle::Page).is_err());
    }
}

#[test]
fn after_id_cursors_continue_by_id_under_any_default_sort() {
    static NEWEST_FIRST: ResourceSpec = ResourceSpec {
        name: "things",
        fields: &["id"],
        sortable: &[("id", ValueKind::Int), ("created_at", ValueKind::Time)],
        default_sort: &[SortKey { column: "created_at", dir: SortDir::Desc }],
        filters: &[],
    };
    let parse = |pairs: &[(&str, &str)]| {
        let params: Vec<(String, String)> = pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        parse_list_query(&NEWEST_FIRST, &params, DefaultStyle::Cursor, vec![], &key())
    };
    let first = parse(&[("after_id", "5")]).expect("valid");
    let cursor = CursorPayload {
        sort: sort_signature(&first.sort),
        scope: first.scope.clone(),
        values: vec![Value::Int(9)],
        backward: false,
    }
    .encode(&key());
    let next = parse(&[("cursor", &cursor)]).expect("an after_id cursor continues without `sort`");
    assert_eq!(next.sort, vec![SortKey { column: "id", dir: SortDir::Asc }]);
    assert_eq!(parse(&[("cursor", &cursor), ("sort", "-created_at")]).map_err(param_of), Err("cursor".into()));
    // Cursors of the default sort are unaffected.
    let default = parse(&[]).expect("valid");
    assert_eq!(sort_signature(&default.sort), "-created_at,-id");
}
