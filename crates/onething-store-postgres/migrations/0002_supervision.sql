-- Supervision (督办), PostgreSQL flavour: watched deadlines, supervision records, and the tasks of a period. The
-- SQLite backend has a migration with the same number and name; keep the two in step.
--
-- Keys that lists are ordered by use the "C" collation, as in 0001, so lists come in the same order as on
-- SQLite.

-- 督办监控: the colour last recorded for a running clock (a task, a case, a milestone) and when it can next
-- change. The deadline worker claims the watches whose next_check_at has come, under a lease
-- (UPDATE … WHERE subject IN (SELECT … FOR UPDATE SKIP LOCKED)), so that nodes never claim one twice.
CREATE TABLE watches (
    subject       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    case_id       TEXT COLLATE "C",
    department    TEXT COLLATE "C",
    colour        TEXT COLLATE "C" NOT NULL,
    next_check_at BIGINT,
    due_at        BIGINT,
    version       BIGINT  NOT NULL,
    lease_owner   TEXT,
    lease_until   BIGINT
);
-- The worker's claim: a range scan over the watches whose next check has come, earliest first. Watches where
-- nothing can change (paused, red, decided) have no next check and stay out of the index.
CREATE INDEX watches_next_check ON watches (next_check_at, subject) WHERE next_check_at IS NOT NULL;
-- "Red (or yellow…) items of a department, most overdue first", and the counts of the overview.
CREATE INDEX watches_colour_department_due ON watches (colour, department, due_at, subject);
-- The watches of one case.
CREATE INDEX watches_case ON watches (case_id);

-- 督办/约谈/通知/评价/项目…: records that need no table of their own, an indexed row plus a JSON document.
CREATE TABLE records (
    kind       TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    case_id    TEXT COLLATE "C",
    owner      TEXT,
    department TEXT,
    state      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    doc        TEXT    NOT NULL,
    PRIMARY KEY (kind, id)
);
-- A user's records (their notices, unread first by state), a department's, a case's, and all of a kind; the
-- list indexes end in created_at, id, the order of the lists.
CREATE INDEX records_kind_owner_state_created ON records (kind, owner, state, created_at, id);
CREATE INDEX records_kind_department_state_created ON records (kind, department, state, created_at, id);
CREATE INDEX records_kind_case ON records (kind, case_id);
CREATE INDEX records_kind_created ON records (kind, created_at, id);

-- The tasks updated in a period (the performance assessment).
CREATE INDEX tasks_updated ON tasks (updated_at, id);
