-- Reads that stay current while they take requests (DocumentStore#readCurrent, decision 0005).
--
-- Every change of a document row takes an exclusive transaction-level advisory lock on the document;
-- a reader that shares one storage read with the requests arriving while it runs takes the same lock
-- shared, reads, stops taking requests, and hands its answer out only once its transaction has
-- committed. No write of the document can commit in between, so every write committed before the
-- reader stopped taking requests is in its answer.
--
-- Keys, in the two-integer form (a key space of its own, apart from the single-bigint form that
-- Flyway's lock uses): class 21364 and a hash of collection and id for a document (collections hold
-- no '/'; two documents sharing a hash only wait for each other), class 21365 key 0 for bulk writes.

CREATE FUNCTION strata_document_lock(p_collection text, p_id text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT hashtext(p_collection || '/' || p_id) $$;

-- The writer's side, after each changed row (so a writer always holds the row before the lock, as a
-- plain UPDATE does: no two writers can wait for each other in opposite orders, and an insert that
-- meets a conflict and does nothing takes no lock). Every statement that changes a row takes it: this
-- release's strata_write, the previous release's statements, an operator's SQL.
CREATE FUNCTION strata_lock_document_for_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_advisory_xact_lock(21364, strata_document_lock(OLD.collection, OLD.id));
    END IF;
    IF TG_OP = 'INSERT' OR NEW.collection IS DISTINCT FROM OLD.collection OR NEW.id IS DISTINCT FROM OLD.id THEN
        PERFORM pg_advisory_xact_lock(21364, strata_document_lock(NEW.collection, NEW.id));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER documents_lock_for_write AFTER INSERT OR UPDATE OR DELETE ON documents
    FOR EACH ROW WHEN (current_setting('strata.bulk_write', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION strata_lock_document_for_write();

-- Bulk changes. The lock table is shared by the whole server (max_locks_per_transaction times
-- max_connections entries, 6,400 with PostgreSQL's defaults), and a row lock is held until its
-- transaction ends: a transaction changing thousands of rows would fill it, failing everyone's
-- locks. A bulk change says so first (BEGIN; SET LOCAL strata.bulk_write = on; ...; COMMIT) and takes
-- one bulk lock, exclusively, for the whole statement instead of one lock per row (no row event is
-- even queued); every shared read takes the bulk lock too, shared. TRUNCATE always takes it.
CREATE FUNCTION strata_lock_documents_for_bulk_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(21365, 0);
    RETURN NULL;
END;
$$;

CREATE TRIGGER documents_lock_for_bulk_write BEFORE INSERT OR UPDATE OR DELETE ON documents
    FOR EACH STATEMENT WHEN (current_setting('strata.bulk_write', true) = 'on')
    EXECUTE FUNCTION strata_lock_documents_for_bulk_write();

CREATE TRIGGER documents_lock_for_truncate BEFORE TRUNCATE ON documents
    FOR EACH STATEMENT EXECUTE FUNCTION strata_lock_documents_for_bulk_write();

-- The reader's side, one statement of the reader's transaction: the locks, shared, then the row, read
-- with a snapshot taken after them (each statement of a volatile function takes its own, under READ
-- COMMITTED; under a stricter level the transaction's one snapshot would predate the lock, so the
-- function refuses to run there).
-- - It waits for the locks at most p_lock_timeout_ms (the caller's own timeout): a read that its
--   caller gave up on never keeps waiting on the server, holding a connection.
-- - A reader that stalls (a GC pause) holding the lock loses its transaction after 1 s idle, and its
--   answer with it (it is handed out only after COMMIT): writers of the document wait for one read,
--   never for a stalled process.
CREATE FUNCTION strata_read_current(p_collection text, p_id text, p_lock_timeout_ms integer)
RETURNS TABLE (version bigint, body bytea)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'strata_read_current needs READ COMMITTED, not %', current_setting('transaction_isolation');
    END IF;
    PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
    PERFORM set_config('idle_in_transaction_session_timeout', '1000', true);
    PERFORM pg_advisory_xact_lock_shared(21365, 0);
    PERFORM pg_advisory_xact_lock_shared(21364, strata_document_lock(p_collection, p_id));
    RETURN QUERY SELECT d.version, d.body FROM documents d WHERE d.collection = p_collection AND d.id = p_id;
END;
$$;
