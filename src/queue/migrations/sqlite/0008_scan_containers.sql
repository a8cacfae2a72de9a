-- Each scan's container numbers, a row each (a twin load has two): finding a scan by part of a
-- number reads this narrow table instead of every scan's whole row.
CREATE TABLE scan_containers (
    number TEXT NOT NULL,
    scan_id TEXT NOT NULL REFERENCES scans (id),
    PRIMARY KEY (number, scan_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO scan_containers (number, scan_id)
    SELECT CASE WHEN instr(containers, ', ') > 0 THEN substr(containers, 1, instr(containers, ', ') - 1) ELSE containers END, id
    FROM scans WHERE containers <> '';
INSERT OR IGNORE INTO scan_containers (number, scan_id)
    SELECT substr(containers, instr(containers, ', ') + 2), id FROM scans WHERE instr(containers, ', ') > 0;
