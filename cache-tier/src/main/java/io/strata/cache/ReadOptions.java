package io.strata.cache;

import java.time.Duration;

/**
 * What a client accepts for one read.
 *
 * @param revalidate   read storage even when the cache holds a fresh entry ({@code no-cache})
 * @param staleIfError how far past freshness an entry may be when storage fails; {@code null}: the default
 * @param maxStale     how far the answer may lag the latest acknowledged write ({@code max-stale}), which
 *                     lets the near cache answer; {@code null}: the collection's default; zero: strict
 */
public record ReadOptions(boolean revalidate, Duration staleIfError, Duration maxStale) {

    public static final ReadOptions DEFAULT = new ReadOptions(false, null, null);
}
