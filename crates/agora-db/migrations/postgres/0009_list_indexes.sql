-- Lists at index speed. Every allowed sort has a (column, id) index, so a page is a range
-- scan in either direction and a deep OFFSET walks an index-only scan. Every searched column
-- has a trigram GIN index, so `ILIKE '%term%'` reads the matching rows rather than the table.
-- Kept in step with migrations/sqlite (which searches through FTS5 trigram tables instead).

-- In `public`, whatever the search path, so that every schema of the database finds it.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE INDEX posts_updated_at_id ON posts (updated_at, id);
CREATE INDEX posts_likes_id ON posts (likes, id);
CREATE INDEX products_category_id ON products (category, id);
CREATE INDEX products_stock_id ON products (stock, id);
CREATE INDEX products_created_at_id ON products (created_at, id);

CREATE INDEX users_name_trgm ON users USING gin (name public.gin_trgm_ops);
CREATE INDEX posts_title_trgm ON posts USING gin (title public.gin_trgm_ops);
CREATE INDEX posts_content_trgm ON posts USING gin (content public.gin_trgm_ops);
CREATE INDEX products_name_trgm ON products USING gin (name public.gin_trgm_ops);
CREATE INDEX products_description_trgm ON products USING gin (description public.gin_trgm_ops);
CREATE INDEX comments_content_trgm ON comments USING gin (content public.gin_trgm_ops);
