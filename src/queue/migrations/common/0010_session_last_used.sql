-- When each session was last used (to the minute): a session nobody used for the idle limit
-- ends on the server too, not only in the console that opened it.
ALTER TABLE sessions ADD COLUMN last_used_at BIGINT;
