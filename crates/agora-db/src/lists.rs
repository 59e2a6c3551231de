//! Every list the store serves: its table, the spec its requests are parsed against, and the
//! column a route scopes it by. The plan test walks this catalogue — every allowed sort of
//! every list, first pages and deep ones — so a list added later is checked like the rest.

use agora_core::charges::Charge;
use agora_core::comments::Comment;
use agora_core::list::{Collection, ResourceSpec};
use agora_core::orders::Order;
use agora_core::posts::Post;
use agora_core::products::Product;
use agora_core::users::User;

use crate::sql::Table;

/// One list the store serves.
#[derive(Debug)]
pub struct ListSource {
    /// What the list is (for messages).
    pub name: &'static str,
    /// What it reads.
    pub table: &'static Table,
    /// What its requests may ask for.
    pub spec: &'static ResourceSpec,
    /// The column its route filters by (`/users/{id}/posts` → `author_id`), if any.
    pub scope: Option<&'static str>,
}

/// Every list, as the repositories run it.
pub static LIST_SOURCES: &[ListSource] = &[
    ListSource { name: "users", table: &crate::users::TABLE, spec: User::SPEC, scope: None },
    ListSource { name: "followers", table: &crate::users::FOLLOWERS, spec: User::SPEC, scope: Some("followee_id") },
    ListSource { name: "following", table: &crate::users::FOLLOWING, spec: User::SPEC, scope: Some("follower_id") },
    ListSource { name: "posts", table: &crate::posts::TABLE, spec: Post::SPEC, scope: None },
    ListSource { name: "posts by author", table: &crate::posts::TABLE, spec: Post::SPEC, scope: Some("author_id") },
    ListSource { name: "feed", table: &crate::posts::FEED, spec: Post::SPEC, scope: Some("follower_id") },
    ListSource { name: "products", table: &crate::products::TABLE, spec: Product::SPEC, scope: None },
    ListSource { name: "comments", table: &crate::comments::TABLE, spec: Comment::SPEC, scope: Some("post_id") },
    ListSource { name: "orders", table: &crate::orders::TABLE, spec: Order::SPEC, scope: Some("user_id") },
    ListSource { name: "charges", table: &crate::charges::TABLE, spec: Charge::SPEC, scope: None },
    ListSource { name: "charges by user", table: &crate::charges::TABLE, spec: Charge::SPEC, scope: Some("user_id") },
];
