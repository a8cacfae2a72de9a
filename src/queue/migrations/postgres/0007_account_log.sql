-- Who changed which account or station key, and when: append-only, like the audit log.
CREATE TABLE account_log (
    seq BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE FUNCTION account_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the account log is append-only';
END;
$$;
CREATE TRIGGER account_log_no_change BEFORE UPDATE OR DELETE ON account_log
    FOR EACH ROW EXECUTE FUNCTION account_log_append_only();
CREATE TRIGGER account_log_no_truncate BEFORE TRUNCATE ON account_log
    FOR EACH STATEMENT EXECUTE FUNCTION account_log_append_only();
