-- Lists at index speed. Every allowed sort has a (column, id) index, so a page is a range
-- scan in either direction and a deep OFFSET walks a covering index. Every searched table has
-- an FTS5 table with the trigram tokenizer (external content: it holds only the index), kept
-- in step by triggers, so `q=` finds a substring through the index; a phrase query keeps `%`
-- and `_` literal. Kept in step with migrations/postgres (which uses pg_trgm GIN indexes).

CREATE INDEX posts_updated_at_id ON posts (updated_at, id);
CREATE INDEX posts_likes_id ON posts (likes, id);
CREATE INDEX products_category_id ON products (category, id);
CREATE INDEX products_stock_id ON products (stock, id);
CREATE INDEX products_created_at_id ON products (created_at, id);

CREATE VIRTUAL TABLE users_search USING fts5(name, content='users', content_rowid='id', tokenize='trigram');
INSERT INTO users_search (users_search) VALUES ('rebuild');
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF name ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO users_search (rowid, name) VALUES (new.id, new.name);
END;

CREATE VIRTUAL TABLE posts_search USING fts5(title, content, content='posts', content_rowid='id', tokenize='trigram');
INSERT INTO posts_search (posts_search) VALUES ('rebuild');
CREATE TRIGGER posts_search_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_search (rowid, title, content) VALUES (new.id, new.title, new.content);
END;
CREATE TRIGGER posts_search_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_search (posts_search, rowid, title, content) VALUES ('delete', old.id, old.title, old.content);
END;
CREATE TRIGGER posts_search_update AFTER UPDATE OF title, content ON posts BEGIN
    INSERT INTO posts_search (posts_search, rowid, title, content) VALUES ('delete', old.id, old.title, old.content);
    INSERT INTO posts_search (rowid, title, content) VALUES (new.id, new.title, new.content);
END;

CREATE VIRTUAL TABLE products_search USING fts5(name, description, content='products', content_rowid='id', tokenize='trigram');
INSERT INTO products_search (products_search) VALUES ('rebuild');
CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_search (rowid, name, description) VALUES (new.id, new.name, new.description);
END;
CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_search (products_search, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
END;
CREATE TRIGGER products_search_update AFTER UPDATE OF name, description ON products BEGIN
    INSERT INTO products_search (products_search, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
    INSERT INTO products_search (rowid, name, description) VALUES (new.id, new.name, new.description);
END;

CREATE VIRTUAL TABLE comments_search USING fts5(content, content='comments', content_rowid='id', tokenize='trigram');
INSERT INTO comments_search (comments_search) VALUES ('rebuild');
CREATE TRIGGER comments_search_insert AFTER INSERT ON comments BEGIN
    INSERT INTO comments_search (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER comments_search_delete AFTER DELETE ON comments BEGIN
    INSERT INTO comments_search (comments_search, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER comments_search_update AFTER UPDATE OF content ON comments BEGIN
    INSERT INTO comments_search (comments_search, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO comments_search (rowid, content) VALUES (new.id, new.content);
END;
