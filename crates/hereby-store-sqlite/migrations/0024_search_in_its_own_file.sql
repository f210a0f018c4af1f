-- The search index moves to its own file beside the database (see `search_migrations/`), so
-- that indexing never holds the database's one write lock. It is derived from the event log:
-- the new file is filled from the start by the indexer, and the old tables go. Dropping
-- `search_entries` drops its triggers.
DROP TABLE search_words;
DROP TABLE search_grams;
DROP TABLE search_entries;
DELETE FROM counters WHERE name = 'search_position';
