-- One write in one round trip: the row lock, the preconditions, the version taken under the lock,
-- the change recorded in the same transaction, in a function the request path calls with a single
-- statement (no BEGIN/COMMIT round trips). Additive: the previous release's statements still work.
--
-- Returns one row: outcome 'ok' (with the version and whether the document was created),
-- 'precondition' (a precondition does not hold for the current version) or 'not-found' (a deletion
-- of a document that does not exist). Preconditions are checked before not-found.
CREATE FUNCTION strata_write(p_collection text, p_id text, p_body bytea, p_delete boolean,
                             p_if_match bigint[], p_if_match_any boolean,
                             p_if_none_match bigint[], p_if_none_match_any boolean)
RETURNS TABLE (outcome text, version bigint, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    current_version bigint;
    live boolean;
    next_version bigint;
BEGIN
    LOOP
        SELECT d.version, d.body IS NOT NULL INTO current_version, live
          FROM documents d WHERE d.collection = p_collection AND d.id = p_id FOR UPDATE;
        IF NOT FOUND THEN
            current_version := NULL;
            live := false;
        END IF;
        IF (p_if_match_any AND NOT live)
           OR (p_if_match IS NOT NULL AND (NOT live OR NOT current_version = ANY (p_if_match)))
           OR (p_if_none_match_any AND live)
           OR (p_if_none_match IS NOT NULL AND live AND current_version = ANY (p_if_none_match)) THEN
            RETURN QUERY SELECT 'precondition'::text, NULL::bigint, false;
            RETURN;
        END IF;
        IF p_delete AND NOT live THEN
            RETURN QUERY SELECT 'not-found'::text, NULL::bigint, false;
            RETURN;
        END IF;
        IF current_version IS NOT NULL THEN
            -- the version is drawn under the row lock: a document's versions grow in commit order
            next_version := nextval('strata_version_seq');
            UPDATE documents SET version = next_version, body = CASE WHEN p_delete THEN NULL ELSE p_body END,
                   updated_at = now()
             WHERE collection = p_collection AND id = p_id;
            EXIT;
        END IF;
        next_version := nextval('strata_version_seq');
        INSERT INTO documents (collection, id, version, body) VALUES (p_collection, p_id, next_version, p_body)
            ON CONFLICT DO NOTHING;
        EXIT WHEN FOUND;
        -- a concurrent creator won: its row exists now; lock it and start over
    END LOOP;
    INSERT INTO document_changes (collection, id, version) VALUES (p_collection, p_id, next_version)
        ON CONFLICT (collection, id) DO UPDATE SET version = EXCLUDED.version, recorded_at = now();
    RETURN QUERY SELECT 'ok'::text, next_version, NOT live;
END;
$$;
