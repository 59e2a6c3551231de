-- Likes: one per user and post. `posts.likes` is kept by triggers in the same transaction as
-- each insert or delete (cascades included), and bumps the post's version (its
-- representation, and so its ETag, changed); it is exact under any concurrency: the
-- trigger's UPDATE takes the post's row lock, and no count is ever read and written back.
CREATE TABLE post_likes (
    post_id    BIGINT      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX post_likes_user ON post_likes (user_id);

CREATE FUNCTION post_likes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE posts SET likes = likes + 1, version = version + 1 WHERE id = NEW.post_id;
    ELSE
        UPDATE posts SET likes = likes - 1, version = version + 1 WHERE id = OLD.post_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER post_likes_count AFTER INSERT OR DELETE ON post_likes
    FOR EACH ROW EXECUTE FUNCTION post_likes_count();
