-- Officers find a scan by its customs declaration's number (upper case, as searched).
ALTER TABLE scans ADD COLUMN declaration_number TEXT;
UPDATE scans SET declaration_number = UPPER(json_extract(metadata, '$.declaration.number'));
CREATE INDEX scans_by_declaration ON scans (declaration_number);
