-- The SQL the previous release runs against PostgreSQL, kept so that every release proves it can be
-- rolled back: these statements must keep working on the schema this release migrates to
-- (migrations expand first and contract a release later; docs/operations.md).
-- When a release changes its statements, the outgoing release's statements replace these.
-- Previous release: schema V1 (documents only; it wrote no change-log rows).
-- :c is replaced by a collection name of the test's own.
INSERT INTO documents (collection, id, version, body) VALUES (:c, 'old-a', nextval('strata_version_seq'), convert_to('{"written":"by the previous release"}', 'UTF8'));
INSERT INTO documents (collection, id, version, body) VALUES (:c, 'old-b', nextval('strata_version_seq'), convert_to('{"b":1}', 'UTF8'));
SELECT version, body FROM documents WHERE collection = :c AND id = 'old-a';
SELECT version, body FROM documents WHERE collection = :c AND id = 'new-a' FOR UPDATE;
UPDATE documents SET version = nextval('strata_version_seq'), body = convert_to('{"b":2}', 'UTF8'), updated_at = now() WHERE collection = :c AND id = 'old-b';
SELECT id, version, body FROM documents WHERE collection = :c AND id = ANY(ARRAY['old-a', 'old-b', 'new-a']);
SELECT id, version, body FROM documents WHERE collection = :c AND body IS NOT NULL AND id > '' ORDER BY id LIMIT 100;
UPDATE documents SET version = nextval('strata_version_seq'), body = NULL, updated_at = now() WHERE collection = :c AND id = 'old-b';
