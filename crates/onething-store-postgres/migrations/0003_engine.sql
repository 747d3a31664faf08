-- The engine, PostgreSQL flavour: files in the database, versioned users and records, revocable tokens, the
-- applicant beside each case for the queue's search. The SQLite backend has a migration with the same number
-- and name; keep the two in step.

-- 办件: who applies, for the window's search (case number, company name, credit code).
ALTER TABLE cases ADD COLUMN applicant_name TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN applicant_code TEXT;
UPDATE cases SET
    applicant_name = COALESCE(doc::jsonb #>> '{case,applicant,name}', ''),
    applicant_code = COALESCE(doc::jsonb #>> '{case,applicant,credit_code}', doc::jsonb #>> '{case,applicant,id_number}');
CREATE INDEX cases_applicant_code ON cases (applicant_code);

-- Accounts: a name to show, disabled accounts, forced password changes, a person's ID number and an identity at
-- an OpenID provider (each unique when present), a profile document, and a version every write names.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN id_number TEXT;
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
UPDATE users SET display_name = username, updated_at = created_at;
ALTER TABLE users ADD CONSTRAINT users_id_number_key UNIQUE (id_number);
ALTER TABLE users ADD CONSTRAINT users_external_id_key UNIQUE (external_id);
CREATE INDEX users_username_c ON users (username COLLATE "C");

-- Tokens: what kind (web session, API token, a system's key) and when revoked, so that sign-out, a password
-- change or a disabled account end them on every node.
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE tokens ADD COLUMN revoked_at BIGINT;

-- Records are written over the version they were read at.
ALTER TABLE records ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- 材料文件: the contents of uploaded files, by SHA-256, durable with the commit that records them and shared by
-- every node.
CREATE TABLE blobs (
    sha256     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    size       BIGINT NOT NULL,
    bytes      BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);
-- Which materials name a file (clean-up of unreferenced files).
CREATE INDEX materials_sha256 ON materials (sha256);

-- The case document is the case itself: who filed it, the receipt's number and the uploaded materials move
-- into it (they were beside it, in a wrapper and in the materials table).
UPDATE cases SET doc = ((doc::jsonb -> 'case') || jsonb_build_object(
    'filed_by', COALESCE(doc::jsonb ->> 'filed_by', ''),
    'receipt_number', doc::jsonb -> 'receipt_number',
    'materials', COALESCE((
        SELECT jsonb_object_agg(m.material, jsonb_build_object(
            'sha256', m.sha256, 'size', m.size, 'media_type', m.media_type,
            'uploaded_at', to_char(to_timestamp(m.uploaded_at / 1000.0) AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
        FROM materials m WHERE m.case_id = cases.id), '{}'::jsonb)))::text
WHERE doc::jsonb ? 'case';
