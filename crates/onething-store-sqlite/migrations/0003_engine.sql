-- The engine, SQLite flavour: files in the database, versioned users and records, revocable tokens, the
-- applicant beside each case for the queue's search. The PostgreSQL backend has a migration with the same number
-- and name; keep the two in step.

-- 办件: who applies, for the window's search (case number, company name, credit code).
ALTER TABLE cases ADD COLUMN applicant_name TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN applicant_code TEXT;
UPDATE cases SET
    applicant_name = COALESCE(json_extract(doc, '$.case.applicant.name'), ''),
    applicant_code = COALESCE(json_extract(doc, '$.case.applicant.credit_code'),
                              json_extract(doc, '$.case.applicant.id_number'));
CREATE INDEX cases_applicant_code ON cases (applicant_code);

-- Accounts: a name to show, disabled accounts, forced password changes, a person's ID number and an identity at
-- an OpenID provider (each unique when present), a profile document, and a version every write names.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN id_number TEXT;
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
UPDATE users SET display_name = username, updated_at = created_at;
CREATE UNIQUE INDEX users_id_number ON users (id_number) WHERE id_number IS NOT NULL;
CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;

-- Tokens: what kind (web session, API token, a system's key) and when revoked, so that sign-out, a password
-- change or a disabled account end them on every node.
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;

-- Records are written over the version they were read at.
ALTER TABLE records ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- 材料文件: the contents of uploaded files, by SHA-256, durable with the commit that records them and shared by
-- every reader.
CREATE TABLE blobs (
    sha256     TEXT    NOT NULL PRIMARY KEY,
    size       INTEGER NOT NULL,
    bytes      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
-- Which materials name a file (clean-up of unreferenced files).
CREATE INDEX materials_sha256 ON materials (sha256);

-- The case document is the case itself: who filed it, the receipt's number and the uploaded materials move
-- into it (they were beside it, in a wrapper and in the materials table).
UPDATE cases SET doc = json_set(json_extract(doc, '$.case'),
    '$.filed_by', COALESCE(json_extract(doc, '$.filed_by'), ''),
    '$.receipt_number', json_extract(doc, '$.receipt_number'),
    '$.materials', json(COALESCE((
        SELECT json_group_object(m.material, json_object(
            'sha256', m.sha256, 'size', m.size, 'media_type', m.media_type,
            'uploaded_at', strftime('%Y-%m-%dT%H:%M:%fZ', m.uploaded_at / 1000.0, 'unixepoch')))
        FROM materials m WHERE m.case_id = cases.id), '{}')))
WHERE json_extract(doc, '$.case') IS NOT NULL;
