//! Posts: what users write, its inputs, storage port and rules.

mod repo;
mod service;

use chrono::{DateTime, Utc};

pub use repo::PostRepo;
pub use service::PostService;

use crate::list::{
    Collection, FilterOp, FilterSpec, ResourceSpec, SortDir, SortKey, Sortable, Value, ValueKind, filters,
};
use crate::types::text_newtype;

text_newtype!(
    /// A post title: 1–200 characters after trimming.
    PostTitle, "title", 1, 200, trim = true, "A post title, 1–200 characters after trimming."
);
text_newtype!(
    /// A post body: 1–20,000 characters.
    PostContent, "content", 1, 20_000, trim = false, "A post body, 1–20,000 characters."
);

/// A post written by a user. Serialised as clients see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Post {
    /// Id.
    pub id: i64,
    /// Author's user id.
    pub author_id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Number of likes.
    pub likes: i64,
    /// Number of comments.
    pub comment_count: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Row version (clients see it through the ETag).
    #[serde(skip)]
    pub version: i64,
}

crate::input! {
    /// `POST /posts`: a new post by the caller, who is always its author (`author_id` is not
    /// accepted: 422).
    #[derive(Debug, Clone)]
    pub struct NewPost {
        /// Title.
        pub title: PostTitle,
        /// Body.
        pub content: PostContent,
    }
}

crate::input! {
    /// `PATCH /posts/{id}`: a JSON merge patch by the author.
    #[derive(Debug, Clone, Default)]
    pub struct PostPatch {
        /// Title.
        #[schema(nullable = false)]
        pub title: Option<PostTitle>,
        /// Body.
        #[schema(nullable = false)]
        pub content: Option<PostContent>,
    }
}

/// The posts collection: newest first by default.
pub static POSTS: ResourceSpec = ResourceSpec {
    name: "posts",
    // `comment_count` is v1's name for v2's `comments_count`.
    fields: &[
        "id",
        "author_id",
        "title",
        "content",
        "likes",
        "comments_count",
        "comment_count",
        "created_at",
        "updated_at",
    ],
    sortable: &[
        ("id", ValueKind::Int),
        ("created_at", ValueKind::Time),
        ("updated_at", ValueKind::Time),
        ("title", ValueKind::Text),
        ("likes", ValueKind::Int),
    ],
    default_sort: &[SortKey { column: "created_at", dir: SortDir::Desc }],
    filters: &[FilterSpec {
        param: "author_id",
        kind: filters::Kind::Int,
        description: "Only posts written by this user id.",
        parse: |r| filters::int("author_id", FilterOp::Eq, r),
    }],
};

impl Collection for Post {
    const SPEC: &'static ResourceSpec = &POSTS;
}

impl Sortable for Post {
    fn sort_value(&self, column: &str) -> Value {
        match column {
            "title" => Value::Text(self.title.clone()),
            "created_at" => Value::Time(self.created_at),
            "updated_at" => Value::Time(self.updated_at),
            "likes" => Value::Int(self.likes),
            "author_id" => Value::Int(self.author_id),
            _ => Value::Int(self.id),
        }
    }
}
