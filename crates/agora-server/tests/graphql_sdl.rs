//! The GraphQL schema as clients see it, snapshotted so that every change to it shows in
//! review.
#![allow(clippy::unwrap_used)]

#[test]
fn schema() {
    insta::assert_snapshot!(agora_server::graphql::sdl());
}
