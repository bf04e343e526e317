package io.strata.cache;

import java.util.List;

import io.strata.storage.Document;

/**
 * The answer to a batch read: found documents and missing ids in request order, and the ids left
 * for the client to ask again because the answer reached its size budget.
 */
public record BatchLookup(List<Document> found, List<String> missing, List<String> unprocessed) {}
