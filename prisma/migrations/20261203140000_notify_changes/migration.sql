-- Live views (reev serve) LISTEN on "reev_changes". Every write to a run announces the execution id,
-- from a trigger, so the NOTIFY is part of the very transaction that wrote: PostgreSQL delivers it only
-- when that transaction commits, and never for one that rolled back. The payload is the id alone; a
-- listener reads what changed from the tables. Identical payloads of one transaction are delivered
-- once, so a bulk import of 10,000 steps announces its execution once.
CREATE FUNCTION reev_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('reev_changes', OLD.execution_id);
  ELSE
    PERFORM pg_notify('reev_changes', NEW.execution_id);
  END IF;
  RETURN NULL;
END;
$$;

-- A step stored, committed (its execution transaction ended) or rolled back.
CREATE TRIGGER step_sessions_notify AFTER INSERT OR UPDATE OR DELETE ON step_sessions
  FOR EACH ROW EXECUTE FUNCTION reev_notify_change();

-- A run finished, its transaction opened or ended, its consolidation status moved.
CREATE TRIGGER execution_sessions_notify AFTER INSERT OR UPDATE ON execution_sessions
  FOR EACH ROW EXECUTE FUNCTION reev_notify_change();

-- A consolidated session stored.
CREATE TRIGGER consolidated_sessions_notify AFTER INSERT ON consolidated_sessions
  FOR EACH ROW EXECUTE FUNCTION reev_notify_change();
