-- sqlite3 workload of the dynamic corpus (issue 13): builds a 100,000-row
-- table from a recursive CTE, indexes it and queries it through the index
-- and around it.  Run as: sqlite3 DB < workload.sql (cases.sh may replace
-- the row count marked ROWS, for the sanitizer builds).
.bail on
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
DROP TABLE IF EXISTS t;
DROP TABLE IF EXISTS names;
CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, grp TEXT, val REAL, note TEXT);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000 /*ROWS*/)
INSERT INTO t (id, k, grp, val, note)
SELECT i,
       (i * 7919) % 100003,
       'g' || (i % 37),
       (i % 1000) / 8.0,
       printf('row-%06d-%s', i, substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26, 5))
FROM n;
COMMIT;
CREATE INDEX t_k ON t (k);
CREATE INDEX t_grp_val ON t (grp, val);
CREATE TABLE names (grp TEXT PRIMARY KEY, label TEXT);
INSERT INTO names SELECT DISTINCT grp, upper(grp) || '!' FROM t;
ANALYZE;
SELECT count(*), sum(k), min(k), max(k), total(val) FROM t;
SELECT grp, count(*), printf('%.3f', avg(val)), max(note) FROM t GROUP BY grp ORDER BY grp LIMIT 8;
SELECT id, k, note FROM t WHERE k BETWEEN 5000 AND 5040 ORDER BY k;
SELECT count(*) FROM t WHERE grp = 'g5' AND val > 100.0;
SELECT n.label, count(*) FROM t JOIN names n USING (grp) WHERE t.k % 1000 = 7 GROUP BY n.label ORDER BY 2 DESC, 1 LIMIT 5;
UPDATE t SET val = val * 2 WHERE k < 1000;
DELETE FROM t WHERE id % 10 = 0;
SELECT count(*), printf('%.2f', sum(val)), group_concat(id) FROM (SELECT * FROM t WHERE k < 60 ORDER BY id);
PRAGMA integrity_check;
