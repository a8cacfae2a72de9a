-- The heatmap's cells as little-endian f32 instead of a JSON array: a 40 ft scan has about
-- 160 000 cells, 2 MB of JSON that took longer to format and sync than the rest of its
-- analysis. `heatmap` keeps the grid (cell, columns, rows); rows stored before this
-- migration have their values there and no cells.
ALTER TABLE analyses ADD COLUMN heatmap_cells BLOB;
