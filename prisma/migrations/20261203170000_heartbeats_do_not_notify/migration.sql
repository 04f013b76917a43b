-- A heartbeat (UPDATE execution_sessions SET heartbeat_at = now(), after every step and every 10 s
-- while an agent thinks) changes nothing a live view shows, yet the notify_changes trigger announced
-- each one, and every SSE stream of the run read the run again for nothing. The execution trigger now
-- fires on an update only when a column other than heartbeat_at changed; inserts (a run started)
-- still always announce. Comparing the rows without heartbeat_at, rather than listing the columns
-- that matter, keeps a column added later announced without another migration.
DROP TRIGGER execution_sessions_notify ON execution_sessions;

-- A run started.
CREATE TRIGGER execution_sessions_notify_insert AFTER INSERT ON execution_sessions
  FOR EACH ROW EXECUTE FUNCTION reev_notify_change();

-- A run finished, its transaction opened or ended, its consolidation status moved: not a heartbeat alone.
CREATE TRIGGER execution_sessions_notify_update AFTER UPDATE ON execution_sessions
  FOR EACH ROW WHEN ((to_jsonb(OLD) - 'heartbeat_at') IS DISTINCT FROM (to_jsonb(NEW) - 'heartbeat_at'))
  EXECUTE FUNCTION reev_notify_change();
