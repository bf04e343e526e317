package io.strata.gateway.security;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * What a resource method needs from the caller's API key. {@link AuthFilter} reads it from the method
 * the router matched, and the collection from the matched route's decoded {@code collection} path
 * parameter. A resource method without it is refused to every caller: access is denied by default.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Access {

    Need value();

    enum Need {
        /** Read the collection named by the {@code collection} path parameter. */
        READ,
        /** Write the collection named by the {@code collection} path parameter. */
        WRITE,
        /** Manage API keys. */
        ADMIN
    }
}
