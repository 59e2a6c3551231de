-- Server-wide secrets generated on first start (token signing, cursor signing), shared by
-- every instance that uses this database.
CREATE TABLE server_secrets (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
