-- The first schema of the onething store, PostgreSQL flavour. The SQLite backend has a migration with the same
-- number and name; keep the two in step (types differ only where the databases differ).
--
-- Portable types only: TEXT and BIGINT. Timestamps are BIGINT unix milliseconds (UTC); JSON documents and lists
-- are TEXT (not JSONB: the documents round-trip byte for byte, and the event payload must, because its hash
-- covers its exact bytes). Every list a supervision screen shows is backed by an index named after its query.
--
-- Keys that lists are ordered by (ids, material names) use the "C" collation: byte order, as SQLite sorts, and
-- independent of the locale the database was created with.

-- 办件: an indexed row plus the service's JSON document.
CREATE TABLE cases (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    number          TEXT    NOT NULL UNIQUE,
    bundle          TEXT    NOT NULL,
    catalog_version TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    owner           TEXT,
    due_at          BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    version         BIGINT  NOT NULL,
    doc             TEXT    NOT NULL
);
-- Lists by state (the hall's queues, overdue cases) and the unfiltered newest/oldest list. Each list index ends
-- in id, the tie-breaker of the order, so a page is read in index order without a sort.
CREATE INDEX cases_state_created ON cases (state, created_at, id);
CREATE INDEX cases_state_due ON cases (state, due_at);
CREATE INDEX cases_created ON cases (created_at, id);
-- "My cases" of an applicant, and the cases of one bundle.
CREATE INDEX cases_owner_created ON cases (owner, created_at, id);
CREATE INDEX cases_bundle_created ON cases (bundle, created_at, id);

-- 部门审批环节: one item of a case for its department.
CREATE TABLE tasks (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    case_id    TEXT COLLATE "C" NOT NULL REFERENCES cases (id),
    item       TEXT    NOT NULL,
    department TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    due_at     BIGINT,
    updated_at BIGINT  NOT NULL,
    doc        TEXT    NOT NULL
);
-- A department's open tasks by state, its overdue list (state + due_at range), and "cases with a task of
-- this department".
CREATE INDEX tasks_department_state_due ON tasks (department, state, due_at, id);
-- The tasks of one case.
CREATE INDEX tasks_case ON tasks (case_id);
-- Overdue tasks across all departments (supervision).
CREATE INDEX tasks_state_due ON tasks (state, due_at);

-- 材料: the files of a case, content-addressed by sha256 on disk.
CREATE TABLE materials (
    case_id     TEXT COLLATE "C" NOT NULL REFERENCES cases (id),
    material    TEXT COLLATE "C" NOT NULL,
    sha256      TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
    media_type  TEXT    NOT NULL,
    uploaded_at BIGINT  NOT NULL,
    PRIMARY KEY (case_id, material)
);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    -- JSON array of role names.
    roles         TEXT    NOT NULL,
    department    TEXT,
    created_at    BIGINT  NOT NULL
);

-- Bearer tokens, by the SHA-256 of their secret.
CREATE TABLE tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
-- Revoking every token of a user.
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE idempotency (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    body_sha256 TEXT    NOT NULL,
    case_id     TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (scope, key)
);

-- The catalogue texts a case was filed under. files: JSON array of [name, text] pairs.
CREATE TABLE catalog_versions (
    version   TEXT    NOT NULL PRIMARY KEY,
    files     TEXT    NOT NULL,
    loaded_at BIGINT  NOT NULL
);

-- The last case number allocated per prefix (e.g. YJS20261130 → 17). Allocation locks the prefix's row until
-- the allocating transaction ends, so numbers have no gaps and no duplicates across nodes.
CREATE TABLE number_sequences (
    prefix TEXT    NOT NULL PRIMARY KEY,
    last   BIGINT  NOT NULL
);

-- The append-only, hash-chained event log. seq is assigned by the store (no gaps), never by the database: no
-- sequence or identity column, because a rolled-back transaction would leave a hole in one.
CREATE TABLE events (
    seq            BIGINT  NOT NULL PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    case_id        TEXT COLLATE "C",
    kind           TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    at             BIGINT  NOT NULL,
    payload        TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL,
    case_prev_hash TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);
-- A case's history, and the latest event of a case (its chain head).
CREATE INDEX events_case_seq ON events (case_id, seq);

-- The head of the global chain: one row. Deleting the newest events shows as a mismatch with it. Every
-- transaction that appends an event locks this row first (SELECT … FOR UPDATE): that lock is what orders the
-- log across connections and nodes.
CREATE TABLE chain_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO chain_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
