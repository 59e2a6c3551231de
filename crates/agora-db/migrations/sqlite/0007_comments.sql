-- Comments on posts. `posts.comment_count` is kept by triggers in the same transaction as
-- each insert or delete (cascades included), which also bump the post's version.
CREATE TABLE comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content    TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX comments_post_created_at_id ON comments (post_id, created_at, id);
CREATE INDEX comments_author ON comments (author_id);

CREATE TRIGGER comments_added AFTER INSERT ON comments
BEGIN
    UPDATE posts SET comment_count = comment_count + 1, version = version + 1 WHERE id = NEW.post_id;
END;
CREATE TRIGGER comments_removed AFTER DELETE ON comments
BEGIN
    UPDATE posts SET comment_count = comment_count - 1, version = version + 1 WHERE id = OLD.post_id;
END;
