package io.strata.gateway.observability;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;

/**
 * Latency histograms with fixed buckets (service-level objectives) for HTTP requests, Redis commands
 * and storage queries, so that SLO queries and percentiles can be computed in Prometheus across
 * instances ({@code histogram_quantile} over {@code _bucket}).
 */
@Singleton
public class Histograms {

    private static final double[] BOUNDARIES_SECONDS = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
    };
    /** The same boundaries in nanoseconds, Micrometer's base unit for timers. */
    private static final DistributionStatisticConfig BUCKETS = DistributionStatisticConfig.builder()
            .serviceLevelObjectives(java.util.Arrays.stream(BOUNDARIES_SECONDS)
                    .map(seconds -> seconds * 1e9)
                    .toArray())
            .build();

    @Produces
    @Singleton
    MeterFilter latencyBuckets() {
        return new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                if (!id.getName().equals("http.server.requests")
                        && !id.getName().equals("strata.redis.commands")
                        && !id.getName().equals("strata.storage.queries")) {
                    return config;
                }
                return BUCKETS.merge(config);
            }
        };
    }
}
