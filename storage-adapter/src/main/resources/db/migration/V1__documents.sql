-- Every write gets its version from one sequence shared by all documents. CACHE 1: a sequence that
-- hands out cached blocks per session would let versions run ahead of commit order across sessions.
CREATE SEQUENCE strata_version_seq AS bigint START WITH 1 CACHE 1;

-- One row per document ever written. A deleted document keeps its row with body NULL (a storage
-- tombstone): its version is the deletion's, so a negative cache entry can carry it, and writes of
-- that id keep serialising on the row lock.
-- ids compare by byte (COLLATE "C"), which is the order of list pages.
CREATE TABLE documents (
    collection text COLLATE "C" NOT NULL,
    id         text COLLATE "C" NOT NULL,
    version    bigint NOT NULL,
    body       bytea,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection, id)
);

-- List pages skip tombstones without reading them.
CREATE INDEX documents_live ON documents (collection, id) WHERE body IS NOT NULL;
