-- Reads that stay current while their answer is handed out (DocumentStore#readCurrent).
--
-- Every change of a document row takes an exclusive transaction-level advisory lock on the document;
-- a reader that shares one storage read with the requests arriving while it runs takes the same lock
-- shared, reads, hands its answer out, and only then ends its transaction. No write of the document
-- can commit in between, so every write committed before the answer was handed out is in it.
--
-- The lock is taken by a trigger, so that every statement changing a row takes it: this release's
-- strata_write, the previous release's statements, an operator's SQL. Key: the two-integer form (a key
-- space of its own, apart from the single-bigint form that Flyway's lock uses), class 21364, and a
-- hash of collection and id; two documents that share a hash only wait for each other.
CREATE FUNCTION strata_document_lock(p_collection text, p_id text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT hashtext(p_collection || '/' || p_id) $$;

CREATE FUNCTION strata_lock_document_for_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_advisory_xact_lock(21364, strata_document_lock(OLD.collection, OLD.id));
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.collection IS DISTINCT FROM OLD.collection OR NEW.id IS DISTINCT FROM OLD.id THEN
        PERFORM pg_advisory_xact_lock(21364, strata_document_lock(NEW.collection, NEW.id));
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER documents_lock_for_write BEFORE INSERT OR UPDATE OR DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION strata_lock_document_for_write();

-- The reader's side, in one statement of the reader's transaction: the shared lock, then the row, read
-- with a snapshot taken after the lock (each statement of a volatile function takes its own), so that
-- a write that committed while the reader waited for the lock is seen.
CREATE FUNCTION strata_read_current(p_collection text, p_id text)
RETURNS TABLE (version bigint, body bytea)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(21364, strata_document_lock(p_collection, p_id));
    RETURN QUERY SELECT d.version, d.body FROM documents d WHERE d.collection = p_collection AND d.id = p_id;
END;
$$;
