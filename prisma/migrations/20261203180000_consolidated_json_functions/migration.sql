-- Consolidation assembles its document in the database (INSERT … SELECT), so a run's steps never pass
-- through Node. The document must be byte for byte what @reev/orchestrator's pure buildConsolidation
-- gives for the same stored steps, i.e. what JavaScript's JSON.stringify writes: no whitespace, keys in
-- the order JavaScript keeps them, numbers as JavaScript prints them. PostgreSQL's json functions write
-- `{"a" : 1}` and `[1, 2]`, and jsonb keeps keys shortest first, so these functions write that JSON
-- themselves. Strings are escaped by PostgreSQL's to_json, which escapes exactly what JSON.stringify
-- escapes (", \, and U+0000–U+001F as \b \f \n \r \t or a lowercase \u00xx).

-- A tool call's input and output as the document writes them (JSON.stringify(sortedKeys(value))), made
-- by the writer when it stores the call: reordering jsonb keys in SQL costs tens of microseconds a
-- value, several times the whole raw read of a run. Null where the writer did not make it (calls
-- stored before this migration, or by other programs): consolidation then writes it with
-- reev_js_json below, slower and the same bytes.
ALTER TABLE tool_calls ADD COLUMN input_json text, ADD COLUMN output_json text;

-- A number as JavaScript's Number.prototype.toString prints it, from its shortest digits (no leading
-- or trailing zero) and where its decimal point goes, counted from the first digit (ECMAScript's n).
CREATE FUNCTION reev_js_format(sign text, digits text, point int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN point BETWEEN length(digits) AND 21 THEN sign || digits || repeat('0', point - length(digits))
  WHEN point BETWEEN 1 AND 21 THEN sign || left(digits, point) || '.' || substr(digits, point + 1)
  WHEN point BETWEEN -5 AND 0 THEN sign || '0.' || repeat('0', -point) || digits
  ELSE sign || left(digits, 1) || CASE WHEN length(digits) > 1 THEN '.' || substr(digits, 2) ELSE '' END
    || 'e' || CASE WHEN point > 1 THEN '+' ELSE '-' END || abs(point - 1)::text
END;

-- A double outside [1e-4, 1e15), where PostgreSQL writes an exponent (1e-05, 1e+15) and JavaScript
-- 0.00001 and 1000000000000000 (up to 1e21), or one without padding (1e-7). Both print the same
-- shortest digits that read back as the same double (float8out with extra_float_digits > 0, the
-- default). Not finite: JSON.stringify writes null.
CREATE FUNCTION reev_js_number_wide(x double precision) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  parts text[];
BEGIN
  IF x IS NULL OR x = 'NaN'::float8 OR x = 'Infinity'::float8 OR x = '-Infinity'::float8 THEN
    RETURN 'null';
  END IF;
  IF x = 0 THEN
    RETURN '0';
  END IF;
  parts := regexp_match(x::text, '^(-?)(\d)(?:\.(\d+))?e([-+]\d+)$');
  IF parts IS NULL THEN
    RETURN x::text;
  END IF;
  RETURN reev_js_format(parts[1], parts[2] || coalesce(parts[3], ''), parts[4]::int + 1);
END;
$$;

-- A double as JSON.stringify writes it; SQL NULL is JSON null. Within [1e-4, 1e15) PostgreSQL and
-- JavaScript print a double alike, so the common case stays one cast (and the function is inlined).
CREATE FUNCTION reev_js_number(x double precision) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN x IS NULL THEN 'null'
  WHEN x = 0 THEN '0'
  WHEN abs(x) >= 1e-4::float8 AND abs(x) < 1e15::float8 THEN x::text
  ELSE reev_js_number_wide(x)
END;

-- A jsonb number as JavaScript reads it (JSON.parse: the nearest double) and JSON.stringify writes it.
-- With at most 15 significant digits, in the range of normal doubles, the decimal is the double's
-- shortest form already (DBL_DIG): it is written from its own digits, exactly. Others go through
-- float8, whose conversion from numeric is only as exact as the platform's strtod; a number no double
-- can hold reads as Infinity (written null) or 0, where PostgreSQL's cast refuses.
CREATE FUNCTION reev_js_numeric(n numeric) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  plain text;
  whole text;
  digits text;
  zeros text[];
  point int;
BEGIN
  IF n IS NULL THEN
    RETURN 'null';
  END IF;
  IF n = 0 THEN
    RETURN '0';
  END IF;
  plain := ltrim(n::text, '-');
  whole := split_part(plain, '.', 1);
  zeros := regexp_match(whole || split_part(plain, '.', 2), '^(0*)(.*?)0*$');
  digits := zeros[2];
  point := length(whole) - length(zeros[1]);
  IF length(digits) <= 15 AND point BETWEEN -306 AND 308 THEN
    RETURN reev_js_format(CASE WHEN n < 0 THEN '-' ELSE '' END, digits, point);
  END IF;
  RETURN reev_js_number(n::float8);
EXCEPTION WHEN numeric_value_out_of_range THEN
  RETURN CASE WHEN abs(n) > 1 THEN 'null' ELSE '0' END;
END;
$$;

-- The order JavaScript keeps an object's keys in after sortedKeys (@reev/db) sorted them: keys that
-- are array indexes (0 … 2^32 − 2, no leading zero) first, by value; then the others by UTF-16 code
-- units, which is byte order of UTF-8 except that U+E000–U+FFFF (lead bytes EE, EF) come after the
-- characters beyond U+FFFF (lead bytes F0–F4): those two lead bytes are moved past F4 here.
CREATE FUNCTION reev_js_key_index(key text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN key ~ '^(0|[1-9][0-9]{0,9})$' THEN CASE WHEN key::bigint < 4294967295 THEN key::bigint END END;

CREATE FUNCTION reev_js_key_order(key text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  bytes bytea := convert_to(key, 'UTF8');
BEGIN
  IF octet_length(key) = char_length(key) OR key !~ '[\uE000-\uFFFF]' THEN
    RETURN bytes;
  END IF;
  FOR i IN 0 .. length(bytes) - 1 LOOP
    IF get_byte(bytes, i) IN (238, 239) THEN
      bytes := set_byte(bytes, i, get_byte(bytes, i) + 7);
    END IF;
  END LOOP;
  RETURN bytes;
END;
$$;

-- A jsonb value as JSON.stringify(sortedKeys(JSON.parse(value))) writes it: what the pure builder
-- does with a tool call's stored input and output, for calls stored without input_json / output_json.
-- Scalars are written in place; only nested objects and arrays recurse.
CREATE FUNCTION reev_js_json(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(v)
    WHEN 'object' THEN (
      SELECT '{' || coalesce(string_agg(to_json(e.key)::text || ':' ||
          CASE jsonb_typeof(e.value)
            WHEN 'number' THEN reev_js_numeric(e.value::numeric)
            WHEN 'object' THEN reev_js_json(e.value)
            WHEN 'array' THEN reev_js_json(e.value)
            ELSE e.value::text
          END, ','
          ORDER BY reev_js_key_index(e.key) NULLS LAST,
            CASE WHEN octet_length(e.key) = char_length(e.key) THEN convert_to(e.key, 'UTF8') ELSE reev_js_key_order(e.key) END), '') || '}'
      FROM jsonb_each(v) AS e)
    WHEN 'array' THEN (
      SELECT '[' || coalesce(string_agg(
          CASE jsonb_typeof(a.value)
            WHEN 'number' THEN reev_js_numeric(a.value::numeric)
            WHEN 'object' THEN reev_js_json(a.value)
            WHEN 'array' THEN reev_js_json(a.value)
            ELSE a.value::text
          END, ',' ORDER BY a.position), '') || ']'
      FROM jsonb_array_elements(v) WITH ORDINALITY AS a(value, position))
    WHEN 'number' THEN reev_js_numeric(v::numeric)
    ELSE coalesce(v::text, 'null')
  END
$$;

-- A timestamp as Date.prototype.toISOString writes it, quoted; SQL NULL is JSON null. Timestamps are
-- stored to the millisecond, within years 1–9999 (the writer refuses others).
CREATE FUNCTION reev_js_date(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN t IS NULL THEN 'null' ELSE '"' || to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"' END;
