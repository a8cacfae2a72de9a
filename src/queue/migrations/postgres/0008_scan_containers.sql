-- Each scan's container numbers, a row each (a twin load has two): finding a scan by part of a
-- number reads this narrow table instead of every scan's whole row.
CREATE TABLE scan_containers (
    number TEXT NOT NULL,
    scan_id TEXT NOT NULL REFERENCES scans (id),
    PRIMARY KEY (number, scan_id)
);
INSERT INTO scan_containers (number, scan_id)
    SELECT split_part(containers, ', ', 1), id FROM scans WHERE containers <> ''
    UNION
    SELECT split_part(containers, ', ', 2), id FROM scans WHERE split_part(containers, ', ', 2) <> '';
