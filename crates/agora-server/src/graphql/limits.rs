//! Depth and complexity, measured on the parsed document before anything runs.
//!
//! Written here rather than with async-graphql's own limits because the rule is ours: a list
//! field multiplies its children's cost by its `limit` argument (default 20), the two
//! failures carry their own codes (`QUERY_TOO_DEEP`, `QUERY_TOO_COMPLEX`), and introspection
//! (`__schema`, `__type`, `__typename`) is free, so that the standard introspection query —
//! nested deeper than any data query needs — always passes.

use agora_core::ErrorCode;
use async_graphql::Value;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Field, Selection, SelectionSet};

/// The fields that return a list (or a page of one) and take `limit`.
const LIST_FIELDS: &[&str] = &["users", "posts", "feed", "products", "followers", "comments"];
/// A list field's size when its `limit` is not given.
const DEFAULT_LIMIT: u64 = 20;

/// What a query may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of selection sets.
    pub max_depth: usize,
    /// Highest cost.
    pub max_complexity: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 10, max_complexity: 1000 }
    }
}

/// Checks every operation of the document the request may run (the named one, or all).
pub fn check(
    doc: &ExecutableDocument,
    operation: Option<&str>,
    variables: &serde_json::Map<String, serde_json::Value>,
    limits: Limits,
) -> Result<(), ErrorCode> {
    let walk = Walk { doc, variables, limits };
    let ops: Vec<&SelectionSet> = match &doc.operations {
        DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
        DocumentOperations::Multiple(ops) => ops
            .iter()
            .filter(|(name, _)| operation.is_none_or(|o| name.as_str() == o))
            .map(|(_, op)| &op.node.selection_set.node)
            .collect(),
    };
    for set in ops {
        if walk.depth(set, 1) > limits.max_depth {
            return Err(ErrorCode::QueryTooDeep);
        }
        if walk.cost(set, 0) > limits.max_complexity {
            return Err(ErrorCode::QueryTooComplex);
        }
    }
    Ok(())
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a serde_json::Map<String, serde_json::Value>,
    limits: Limits,
}

impl Walk<'_> {
    /// The selections of `set`, with fragments spread in place.
    fn fields<'s>(&'s self, set: &'s SelectionSet, out: &mut Vec<&'s Field>, level: usize) {
        if level > self.limits.max_depth + 1 {
            return; // deep enough to refuse; also stops fragment cycles
        }
        for sel in &set.items {
            match &sel.node {
                Selection::Field(f) => out.push(&f.node),
                Selection::InlineFragment(f) => self.fields(&f.node.selection_set.node, out, level + 1),
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = self.doc.fragments.get(&s.node.fragment_name.node) {
                        self.fields(&frag.node.selection_set.node, out, level + 1);
                    }
                }
            }
        }
    }

    /// How deep `set` nests, counting from `level` (introspection not counted).
    fn depth(&self, set: &SelectionSet, level: usize) -> usize {
        if level > self.limits.max_depth {
            return level;
        }
        let mut fields = Vec::new();
        self.fields(set, &mut fields, level);
        fields
            .iter()
            .filter(|f| !f.name.node.starts_with("__"))
            .map(|f| {
                if f.selection_set.node.items.is_empty() { level } else { self.depth(&f.selection_set.node, level + 1) }
            })
            .max()
            .unwrap_or(level)
    }

    /// What `set` costs: 1 per field, a list field's children times its `limit`.
    fn cost(&self, set: &SelectionSet, level: usize) -> u64 {
        if level > self.limits.max_depth + 1 {
            return u64::MAX;
        }
        let mut fields = Vec::new();
        self.fields(set, &mut fields, level);
        fields.iter().filter(|f| !f.name.node.starts_with("__")).fold(0u64, |sum, f| {
            let children = self.cost(&f.selection_set.node, level + 1);
            let times = if LIST_FIELDS.contains(&f.name.node.as_str()) { self.limit(f) } else { 1 };
            sum.saturating_add(1u64.saturating_add(times.saturating_mul(children)))
        })
    }

    /// A list field's `limit`: its literal or variable value, else the default.
    fn limit(&self, field: &Field) -> u64 {
        let Some(v) = field.get_argument("limit") else { return DEFAULT_LIMIT };
        let value = v.node.clone().into_const_with(|name| {
            let json = self.variables.get(name.as_str()).cloned().unwrap_or_default();
            Ok::<_, ()>(Value::from_json(json).unwrap_or(Value::Null))
        });
        match value {
            Ok(Value::Number(n)) => n.as_u64().unwrap_or(DEFAULT_LIMIT),
            _ => DEFAULT_LIMIT,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(q: &str) -> Result<(), ErrorCode> {
        let doc = async_graphql::parser::parse_query(q).unwrap();
        check(&doc, None, &serde_json::Map::new(), Limits::default())
    }

    #[test]
    fn depth_and_cost() {
        assert_eq!(run("{ me { name } }"), Ok(()));
        // 11 levels.
        let deep = "{ me { posts { nodes { author { posts { nodes { author { posts { nodes { author { name } } } } } } } } } } }";
        assert_eq!(run(deep), Err(ErrorCode::QueryTooDeep));
        // posts(limit: 100) { nodes { author { followers(limit: 100) { nodes { name } } } } } costs far more than 1000.
        let wide = "{ posts(limit: 100) { nodes { author { followers(limit: 100) { nodes { name } } } } } }";
        assert_eq!(run(wide), Err(ErrorCode::QueryTooComplex));
        assert_eq!(run("{ posts(limit: 5) { nodes { title author { name } } } }"), Ok(()));
        // Fragments count where they are spread; cycles stop at the depth limit.
        let cyclic = "query { me { ...A } } fragment A on User { posts { nodes { author { ...A } } } }";
        assert_eq!(run(cyclic), Err(ErrorCode::QueryTooDeep));
    }

    #[test]
    fn introspection_is_free() {
        let q = include_str!("introspection.graphql");
        assert_eq!(run(q), Ok(()));
    }
}
