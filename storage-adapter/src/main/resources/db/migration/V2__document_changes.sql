-- A transactional outbox: every write records (collection, id, version) here in the same
-- transaction as the document. A consumer that must act on every change (the cache tier removes
-- stale copies) confirms a change by deleting its row; rows left unconfirmed are found again by any
-- instance, even after the writer crashed.
CREATE TABLE document_changes (
    collection  text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection, id)
);

CREATE INDEX document_changes_recorded_at ON document_changes (recorded_at);
