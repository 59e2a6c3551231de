-- Follows: `follower_id` follows `followee_id`. Each user's `followers_count` and
-- `following_count` are kept by triggers in the same transaction as each insert or delete
-- (cascades included), which also bump the users' versions (their representations changed).
-- Exact under any concurrency: SQLite runs one writer at a time, and counts change in place.
ALTER TABLE users ADD COLUMN followers_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN following_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_at TEXT    NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee ON follows (followee_id, follower_id);

CREATE TRIGGER follows_added AFTER INSERT ON follows
BEGIN
    UPDATE users SET following_count = following_count + 1, version = version + 1 WHERE id = NEW.follower_id;
    UPDATE users SET followers_count = followers_count + 1, version = version + 1 WHERE id = NEW.followee_id;
END;
CREATE TRIGGER follows_removed AFTER DELETE ON follows
BEGIN
    UPDATE users SET following_count = following_count - 1, version = version + 1 WHERE id = OLD.follower_id;
    UPDATE users SET followers_count = followers_count - 1, version = version + 1 WHERE id = OLD.followee_id;
END;
