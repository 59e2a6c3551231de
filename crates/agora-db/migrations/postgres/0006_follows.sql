-- Follows: `follower_id` follows `followee_id`. Each user's `followers_count` and
-- `following_count` are kept by triggers in the same transaction as each insert or delete
-- (cascades included), which also bump the users' versions (their representations changed).
-- Exact under any concurrency: each trigger UPDATE increments in place under the row lock.
ALTER TABLE users ADD COLUMN followers_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN following_count BIGINT NOT NULL DEFAULT 0;

CREATE TABLE follows (
    follower_id BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee ON follows (followee_id, follower_id);

CREATE FUNCTION follows_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET following_count = following_count + 1, version = version + 1 WHERE id = NEW.follower_id;
        UPDATE users SET followers_count = followers_count + 1, version = version + 1 WHERE id = NEW.followee_id;
    ELSE
        UPDATE users SET following_count = following_count - 1, version = version + 1 WHERE id = OLD.follower_id;
        UPDATE users SET followers_count = followers_count - 1, version = version + 1 WHERE id = OLD.followee_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER follows_count AFTER INSERT OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION follows_count();
