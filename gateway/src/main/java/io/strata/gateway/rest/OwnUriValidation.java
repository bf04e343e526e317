package io.strata.gateway.rest;

import java.util.Map;
import java.util.Set;

import org.eclipse.microprofile.config.spi.ConfigSource;

/**
 * Hands the validation of request targets to Strata ({@link RequestLimits}), so that a target that is
 * not a URI gets a problem+json 400 like every other bad request, instead of the HTTP layer's empty 400.
 *
 * <p>Quarkus's HTTP layer checks the target itself unless the system property
 * {@code vertx.disableURIValidation} is set when it starts. Config sources are loaded before the HTTP
 * layer, so this one sets it; it provides no configuration of its own.
 */
public class OwnUriValidation implements ConfigSource {

    static {
        System.setProperty("vertx.disableURIValidation", "true");
    }

    @Override
    public Map<String, String> getProperties() {
        return Map.of();
    }

    @Override
    public Set<String> getPropertyNames() {
        return Set.of();
    }

    @Override
    public String getValue(String propertyName) {
        return null;
    }

    @Override
    public String getName() {
        return "strata-own-uri-validation";
    }

    @Override
    public int getOrdinal() {
        return 0;
    }
}
