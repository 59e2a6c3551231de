-- Users, posts and products. Kept column-for-column in step with migrations/postgres
-- (a test compares the two schemas).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE INDEX users_name_id ON users (name, id);
CREATE INDEX users_created_at_id ON users (created_at, id);

CREATE TABLE posts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    content       TEXT    NOT NULL,
    likes         INTEGER NOT NULL DEFAULT 0,
    comment_count INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX posts_created_at_id ON posts (created_at, id);
CREATE INDEX posts_author_created_at_id ON posts (author_id, created_at, id);
CREATE INDEX posts_title_id ON posts (title, id);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    category    TEXT    NOT NULL,
    price       INTEGER NOT NULL CHECK (price >= 0),
    currency    TEXT    NOT NULL DEFAULT 'usd',
    stock       INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX products_price_id ON products (price, id);
CREATE INDEX products_category_price_id ON products (category, price, id);
CREATE INDEX products_name_id ON products (name, id);
