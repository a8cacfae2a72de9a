-- The statistics count the scans received in the last days: without this index, a range of
-- days read the whole table.
CREATE INDEX scans_by_received ON scans (received_at);
