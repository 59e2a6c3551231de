-- Likes: one per user and post. `posts.likes` is kept by triggers in the same transaction as
-- each insert or delete (cascades included), and bumps the post's version (its
-- representation, and so its ETag, changed); it is exact under any concurrency (SQLite
-- runs one writer at a time, and no count is ever read and written back).
CREATE TABLE post_likes (
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX post_likes_user ON post_likes (user_id);

CREATE TRIGGER post_likes_added AFTER INSERT ON post_likes
BEGIN
    UPDATE posts SET likes = likes + 1, version = version + 1 WHERE id = NEW.post_id;
END;
CREATE TRIGGER post_likes_removed AFTER DELETE ON post_likes
BEGIN
    UPDATE posts SET likes = likes - 1, version = version + 1 WHERE id = OLD.post_id;
END;
