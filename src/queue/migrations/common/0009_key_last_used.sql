-- When each station key was last used (to the minute): keys nobody uses any more can go.
ALTER TABLE station_keys ADD COLUMN last_used_at BIGINT;
