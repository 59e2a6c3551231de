-- Orders, their lines and charges. Stock is taken from `products.stock` by conditional
-- updates in the same transaction as the order (its CHECK (stock >= 0) is the last guard).
-- An order line keeps its product id without a foreign key: what was bought stays on the
-- order after the product leaves the catalogue.
CREATE TABLE orders (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status     TEXT        NOT NULL CHECK (status IN ('pending', 'paid', 'fulfilled', 'cancelled')),
    total      INTEGER     NOT NULL CHECK (total >= 0),
    currency   TEXT        NOT NULL,
    created_at TEXT        NOT NULL,
    updated_at TEXT        NOT NULL,
    version    INTEGER     NOT NULL DEFAULT 1
);
CREATE INDEX orders_user_created_at_id ON orders (user_id, created_at, id);
CREATE INDEX orders_user_total_id ON orders (user_id, total, id);
CREATE INDEX orders_user_id_id ON orders (user_id, id);
CREATE INDEX orders_status ON orders (status);

CREATE TABLE order_items (
    order_id   INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, product_id)
);

CREATE TABLE charges (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    order_id        INTEGER     REFERENCES orders (id) ON DELETE SET NULL,
    amount          INTEGER     NOT NULL CHECK (amount > 0),
    currency        TEXT        NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('succeeded', 'failed', 'refunded')),
    amount_refunded INTEGER     NOT NULL DEFAULT 0 CHECK (amount_refunded BETWEEN 0 AND amount),
    description     TEXT,
    failure_code    TEXT,
    reference       TEXT,
    created_at      TEXT        NOT NULL,
    updated_at      TEXT        NOT NULL,
    version         INTEGER     NOT NULL DEFAULT 1
);
CREATE INDEX charges_created_at_id ON charges (created_at, id);
CREATE INDEX charges_amount_id ON charges (amount, id);
CREATE INDEX charges_user_created_at_id ON charges (user_id, created_at, id);
CREATE INDEX charges_user_amount_id ON charges (user_id, amount, id);
CREATE INDEX charges_user_id_id ON charges (user_id, id);
CREATE INDEX charges_order ON charges (order_id);
CREATE INDEX charges_status ON charges (status);
