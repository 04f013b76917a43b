-- A consolidated document is one value of up to 256 MiB, compressed once when it is stored. With the
-- default pglz, compressing the bench's 34 MB document (10,000 steps) took about a sixth of the
-- storing statement's time on PostgreSQL. lz4 compresses it several times faster, and decompresses
-- faster for every reader of the run's flow; it stored that document in 1.17 MB against pglz's 1.02 MB.
-- Only servers built with lz4 offer it (PostgreSQL 14+ from most packagers; not PGlite): elsewhere the
-- column keeps pglz, and the schema is otherwise the same. Values stored before keep their compression
-- until they are written again. No stored row changes.
DO $$
BEGIN
  IF 'lz4' = ANY ((SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression')::text[]) THEN
    ALTER TABLE consolidated_sessions ALTER COLUMN consolidated_content SET COMPRESSION lz4;
  END IF;
END
$$;
