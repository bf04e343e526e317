package io.strata.storage;

import java.util.List;

/**
 * One page of a collection in byte order of ids.
 *
 * @param documents the documents of this page
 * @param lastId    the id to continue after, or {@code null} when this was the last page
 */
public record Page(List<Document> documents, String lastId) {}
