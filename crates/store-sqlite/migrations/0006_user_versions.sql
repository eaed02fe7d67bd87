-- Storage v2 (issues 10 and 12): users are stored as versions shared by every generation that
-- has them, instead of one full copy per generation.
--
-- A version of a user is served in generations born <= g < died (died is 2^63-1 while the
-- version is current). A writer inserts only the versions that changed (born = its generation,
-- invisible until that generation is committed), and its commit closes the versions it replaced
-- (died = its generation). A superseded generation therefore stays readable as it was, for the
-- retention period, at no cost; the changes between two generations are the versions born or
-- closed between them.
--
-- Paging stays constant-time through user_chunks: for each generation, the ordinal and identity
-- of every 128th user (a chunk may grow or shrink with later changes). A page seeks its chunk by
-- ordinal, then walks at most one chunk of the covering index.
CREATE TABLE user_versions (
    customer_id TEXT    NOT NULL REFERENCES services (id),
    identity    TEXT    NOT NULL,
    born        INTEGER NOT NULL,
    died        INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL,
    -- The digits of the LineURI (domain::LineNumber), for number lookup; '' when it has none
    -- that reads as a number, NULL when the user has no LineURI.
    line_digits TEXT,
    body        TEXT    NOT NULL,
    source      TEXT
);
-- The covering index every read walks: identity order within a customer, with what decides
-- whether a version belongs to a generation, and the fingerprint a writer diffs with.
CREATE UNIQUE INDEX user_versions_key ON user_versions (customer_id, identity, born, died, fingerprint);
-- Versions born in, or closed by, a given generation: changes feeds, abandoned writers, reclaim.
CREATE INDEX user_versions_born ON user_versions (customer_id, born);
CREATE INDEX user_versions_died ON user_versions (customer_id, died) WHERE died < 9223372036854775807;
CREATE INDEX user_versions_line ON user_versions (line_digits) WHERE line_digits IS NOT NULL;

-- Committed generations: their count, and when a newer one replaced them (retention).
CREATE TABLE generations (
    customer_id   TEXT    NOT NULL REFERENCES services (id),
    generation    INTEGER NOT NULL,
    user_count    INTEGER NOT NULL,
    committed_at  INTEGER NOT NULL,
    superseded_at INTEGER,
    PRIMARY KEY (customer_id, generation)
);

CREATE TABLE user_chunks (
    customer_id    TEXT    NOT NULL REFERENCES services (id),
    generation     INTEGER NOT NULL,
    start_ordinal  INTEGER NOT NULL,
    first_identity TEXT    NOT NULL,
    PRIMARY KEY (customer_id, generation, start_ordinal)
);

-- Work the store finishes in code after migrating (line_digits of the versions carried over).
CREATE TABLE store_backfills (
    name TEXT NOT NULL PRIMARY KEY
);

-- The served generation of every service carries over; older and abandoned ones are dropped.
INSERT INTO user_versions (customer_id, identity, born, died, fingerprint, line_digits, body, source)
SELECT u.customer_id, u.identity, u.generation, 9223372036854775807, u.fingerprint, NULL, u.body, u.source
FROM end_users AS u JOIN services AS s ON s.id = u.customer_id AND s.generation = u.generation;

INSERT INTO user_chunks (customer_id, generation, start_ordinal, first_identity)
SELECT u.customer_id, u.generation, u.ordinal, u.identity
FROM end_users AS u JOIN services AS s ON s.id = u.customer_id AND s.generation = u.generation
WHERE (u.ordinal - 1) % 128 = 0;

INSERT INTO generations (customer_id, generation, user_count, committed_at, superseded_at)
SELECT id, generation, user_count, CAST(strftime('%s', 'now') AS INTEGER) * 1000000, NULL
FROM services WHERE generation > 0;

INSERT INTO store_backfills (name) SELECT 'line_digits' WHERE EXISTS (SELECT 1 FROM user_versions);

DROP TABLE end_users;
