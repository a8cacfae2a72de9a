-- Scans, their analyses and the audit log. Times are Unix milliseconds (UTC); JSON is text,
-- read the same way as SQLite's through one query layer.
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
    version BIGINT NOT NULL DEFAULT 0,
    failure TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until BIGINT,
    risk_score BIGINT,
    lane TEXT,
    verdict TEXT,
    claimed_by TEXT,
    claim_until BIGINT,
    decision TEXT,
    decision_notes TEXT,
    decided_by TEXT,
    decided_at BIGINT,
    outcome TEXT,
    outcome_notes TEXT,
    outcome_by TEXT,
    outcome_at BIGINT,
    received_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (station_id, station_scan_id)
);
CREATE INDEX scans_by_state ON scans (state, risk_score DESC, received_at);

-- One row per scan: a second analysis of the same scan cannot be stored.
CREATE TABLE analyses (
    scan_id TEXT PRIMARY KEY REFERENCES scans (id),
    analysis TEXT NOT NULL,
    heatmap TEXT NOT NULL,
    models TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    scan_id TEXT NOT NULL REFERENCES scans (id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    previous_state TEXT,
    new_state TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_by_scan ON audit_log (scan_id, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
