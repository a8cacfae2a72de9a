-- Scans, their analyses and the audit log. Times are Unix milliseconds (UTC); JSON is text.
CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    station_scan_id TEXT NOT NULL,
    content_digest TEXT NOT NULL,
    metadata TEXT NOT NULL,
    high_image TEXT NOT NULL,
    low_image TEXT,
    containers TEXT NOT NULL,
    declared_goods TEXT NOT NULL,
    state TEXT NOT NULL,
    -- Bumped by every change: writers update only the version they read.
    version INTEGER NOT NULL DEFAULT 0,
    failure TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until INTEGER,
    risk_score INTEGER,
    lane TEXT,
    verdict TEXT,
    claimed_by TEXT,
    claim_until INTEGER,
    decision TEXT,
    decision_notes TEXT,
    decided_by TEXT,
    decided_at INTEGER,
    outcome TEXT,
    outcome_notes TEXT,
    outcome_by TEXT,
    outcome_at INTEGER,
    received_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (station_id, station_scan_id)
);
CREATE INDEX scans_by_state ON scans (state, risk_score DESC, received_at);

-- One row per scan: a second analysis of the same scan cannot be stored.
CREATE TABLE analyses (
    scan_id TEXT PRIMARY KEY REFERENCES scans (id),
    analysis TEXT NOT NULL,
    heatmap TEXT NOT NULL,
    models TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id TEXT NOT NULL REFERENCES scans (id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    previous_state TEXT,
    new_state TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_by_scan ON audit_log (scan_id, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
