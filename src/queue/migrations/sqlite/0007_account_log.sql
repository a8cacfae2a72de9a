-- Who changed which account or station key, and when: append-only, like the audit log.
CREATE TABLE account_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE TRIGGER account_log_no_update BEFORE UPDATE ON account_log
BEGIN
    SELECT RAISE(ABORT, 'the account log is append-only');
END;
CREATE TRIGGER account_log_no_delete BEFORE DELETE ON account_log
BEGIN
    SELECT RAISE(ABORT, 'the account log is append-only');
END;
