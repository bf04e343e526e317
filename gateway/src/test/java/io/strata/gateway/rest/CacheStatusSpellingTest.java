package io.strata.gateway.rest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.strata.cache.CacheStatus;
import io.strata.cache.CacheStatus.Forward;

/**
 * The {@code Cache-Status} header (RFC 9211) for every status the cache tier reports: the shared cache
 * is {@code strata}, the near cache in front of it {@code strata-near}, listed from the origin's side
 * to the client's.
 */
class CacheStatusSpellingTest {

    static Stream<Arguments> statuses() {
        return Stream.of(
                Arguments.of(CacheStatus.HIT, "strata; hit"),
                Arguments.of(CacheStatus.stale(Duration.ofSeconds(5), "stale-while-revalidate"),
                        "strata; hit; ttl=-5; detail=stale-while-revalidate"),
                Arguments.of(CacheStatus.stale(Duration.ofMinutes(5).plusMillis(400), "stale-if-error"),
                        "strata; hit; ttl=-300; detail=stale-if-error"),
                // less than a second past freshness is still past it: never ttl=0
                Arguments.of(CacheStatus.stale(Duration.ofMillis(300), "stale-while-revalidate"),
                        "strata; hit; ttl=-1; detail=stale-while-revalidate"),
                Arguments.of(CacheStatus.forwarded(Forward.MISS, true), "strata; fwd=miss; stored"),
                Arguments.of(CacheStatus.forwarded(Forward.MISS, false), "strata; fwd=miss"),
                Arguments.of(CacheStatus.forwarded(Forward.REQUEST, true), "strata; fwd=request; stored"),
                Arguments.of(CacheStatus.forwarded(Forward.REQUEST, false), "strata; fwd=request"),
                Arguments.of(CacheStatus.forwarded(Forward.STALE, true), "strata; fwd=stale; stored"),
                Arguments.of(CacheStatus.forwarded(Forward.BYPASS, false), "strata; fwd=bypass"),
                Arguments.of(CacheStatus.collapsed(Forward.MISS), "strata; fwd=miss; collapsed"),
                Arguments.of(CacheStatus.collapsed(Forward.STALE), "strata; fwd=stale; collapsed"),
                Arguments.of(CacheStatus.NEAR_HIT, "strata-near; hit"),
                Arguments.of(CacheStatus.HIT.nearMiss(true), "strata; hit, strata-near; fwd=miss; stored"),
                Arguments.of(CacheStatus.HIT.nearMiss(false), "strata; hit, strata-near; fwd=miss"),
                Arguments.of(CacheStatus.forwarded(Forward.MISS, true).nearMiss(true),
                        "strata; fwd=miss; stored, strata-near; fwd=miss; stored"),
                Arguments.of(CacheStatus.forwarded(Forward.BYPASS, false).nearMiss(false), "strata; fwd=bypass, strata-near; fwd=miss"),
                Arguments.of(CacheStatus.stale(Duration.ofSeconds(2), "stale-while-revalidate").nearMiss(false),
                        "strata; hit; ttl=-2; detail=stale-while-revalidate, strata-near; fwd=miss"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("statuses")
    void everyStatusIsSpelledAsRfc9211Asks(CacheStatus status, String header) {
        assertEquals(header, CacheStatusHeader.of(status));
    }
}
