-- The selfdb schema also holds the migration bookkeeping, so it is kept.
SELECT 1;
