package io.strata.gateway.observability;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.MeterFilter;
import io.strata.gateway.rest.BodyLimitFilter;

/**
 * The HTTP server metrics' {@code method} label takes only the methods Strata answers
 * ({@link BodyLimitFilter#METHODS}) and {@code OTHER}: a client chooses the method name, and every distinct label value is a series kept
 * in memory and in every scrape, so made-up method names would grow the heap without bound. (Such
 * requests are refused before routing; the label is recorded all the same.) The {@code uri} label is
 * bounded by the match patterns in {@code application.properties}.
 */
@Singleton
public class BoundedHttpLabels {

    @Produces
    @Singleton
    MeterFilter boundedMethods() {
        return new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                String method = id.getTag("method");
                if (method == null
                        || BodyLimitFilter.METHODS.contains(method)
                        || !id.getName().startsWith("http.server")) {
                    return id;
                }
                return id.withTag(Tag.of("method", "OTHER"));
            }
        };
    }
}
