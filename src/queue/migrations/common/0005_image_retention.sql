-- Retention (docs/operations.md): when a settled scan's images and heatmap cells were deleted.
ALTER TABLE scans ADD COLUMN images_purged_at BIGINT;
-- The scans a purge looks at, oldest change first.
CREATE INDEX scans_keeping_images ON scans (updated_at) WHERE images_purged_at IS NULL;
-- Images are stored by content, so two scans may share one: it is deleted only when no scan
-- that keeps its images refers to it.
CREATE INDEX scans_by_high_image ON scans (high_image);
CREATE INDEX scans_by_low_image ON scans (low_image);
