package io.strata.gateway.security;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.strata.storage.ApiKeyStore;
import io.strata.storage.ApiKeyStore.StoredKey;
import io.strata.storage.StorageUnavailableException;

/**
 * API keys: created with a random secret shown once, stored as HMAC-SHA256(pepper, secret), verified
 * by hashing the presented secret and looking the hash up.
 *
 * <h2>Caches, and what bounds them</h2>
 * Verified keys are cached for {@code strata.auth.key-cache-ttl}, unknown ones for
 * {@code unknown-key-cache-ttl}. Concurrent lookups of one secret share one storage query, and lookups
 * of keys this instance has not verified in the last 30 minutes are capped per instance
 * ({@link LookupBudget}): beyond the cap such a key is refused without a query, so a flood of made-up
 * keys cannot become a flood of queries. Two kinds of keys are looked up outside the cap, so that a
 * flood spending the budget locks no real key out:
 * <ul>
 * <li>keys Strata issued: the last 8 of a secret's 32 random bytes are a tag, an HMAC of the first 24
 * under the pepper, so an issued key is recognised without storage and a made-up one carries a valid
 * tag with a chance of 2<sup>-64</sup>. This holds on a fresh instance too (after a restart, a rollout
 * or a scale-out), where no key has been seen yet;</li>
 * <li>keys verified here in the last 30 minutes, whatever their origin (a bootstrap admin key chosen
 * by an operator has no tag).</li>
 * </ul>
 * There are only as many of those lookups as there are real keys in use.
 *
 * <h2>Revocation</h2>
 * A revocation on any instance reaches every instance's cache through the storage's announcements
 * (and after a reconnection, when announcements may have been missed, every verified key is
 * forgotten). A lookup that was in flight when a revocation was heard may have read the key before it
 * was revoked: its answer is never cached, so it cannot bring the key back. While storage is
 * unavailable, keys verified before keep working (storage could not record a revocation either), so
 * that cached documents stay readable.
 */
@ApplicationScoped
public class ApiKeys {

    private static final Logger LOG = Logger.getLogger(ApiKeys.class);
    /** What a presented secret may look like: checked before any hashing or lookup. */
    private static final Pattern SECRET = Pattern.compile("[A-Za-z0-9_-]{16,128}");

    private static final Duration LAST_KNOWN = Duration.ofMinutes(30);
    private static final String SECRET_PREFIX = "sk_";
    /** Of an issued secret's 32 bytes, the random ones; the rest is their tag. */
    private static final int RANDOM_BYTES = 24;
    /** Keeps tags apart from the secrets' hashes, which use the same pepper. */
    private static final byte[] TAG_DOMAIN = "strata key tag\0".getBytes(StandardCharsets.UTF_8);
    /** The shortest pepper accepted: an HMAC-SHA256 key shorter than its output weakens it. */
    static final int MIN_PEPPER_BYTES = 32;

    /** A verified key: what the request may do. */
    public record Verified(String id, List<String> scopes, int rateLimit) {}

    /** The outcome of presenting a secret: a key, or none (unknown, malformed, revoked, or not looked up). */
    public record Verification(Verified key, boolean throttled) {
        static final Verification INVALID = new Verification(null, false);
        static final Verification THROTTLED = new Verification(null, true);
    }

    /** A created key with its secret (the only time the secret exists outside the client). */
    public record Created(StoredKey key, String secret) {}

    /** Completes a lookup that the budget did not allow, for the requests that joined it. */
    private static final RuntimeException NOT_LOOKED_UP = new IllegalStateException("key lookup budget spent") {
        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    };

    private final ApiKeyStore store;
    private final AuthConfig config;
    private final ThreadLocal<Mac> macs;
    private final SecureRandom random = new SecureRandom();
    private final Cache<String, Verified> verified;
    private final Cache<String, Verified> lastKnown;
    private final Cache<String, Boolean> unknown;
    private final ConcurrentHashMap<String, CompletableFuture<StoredKey>> lookups = new ConcurrentHashMap<>();
    private final LookupBudget lookupBudget;
    /** Counts revocations heard; a lookup that saw it change while in flight does not cache its answer. */
    private final AtomicLong revocations = new AtomicLong();

    private final Counter storageLookups;

    public ApiKeys(ApiKeyStore store, AuthConfig config, MeterRegistry registry) {
        this.store = store;
        this.config = config;
        SecretKeySpec pepper = new SecretKeySpec(pepper(config), "HmacSHA256");
        this.macs = ThreadLocal.withInitial(() -> {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(pepper);
                return mac;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        });
        this.verified = Caffeine.newBuilder()
                .maximumSize(100_000)
                .expireAfterWrite(config.keyCacheTtl())
                .build();
        this.lastKnown = Caffeine.newBuilder()
                .maximumSize(100_000)
                .expireAfterWrite(LAST_KNOWN)
                .build();
        this.unknown = Caffeine.newBuilder()
                .maximumSize(100_000)
                .expireAfterWrite(config.unknownKeyCacheTtl())
                .build();
        this.lookupBudget = new LookupBudget(config.keyLookupsPerSecond(), System::nanoTime);
        this.storageLookups = registry.counter("strata.auth.key_lookups");
        store.onRevocation(hash -> {
            revocations.incrementAndGet();
            if ("*".equals(hash)) {
                verified.invalidateAll();
                lastKnown.invalidateAll();
            } else {
                verified.invalidate(hash);
                lastKnown.invalidate(hash);
            }
        });
    }

    private static byte[] pepper(AuthConfig config) {
        return config.pepper()
                .filter(p -> !p.isBlank())
                .map(p -> {
                    byte[] bytes = p.getBytes(StandardCharsets.UTF_8);
                    if (bytes.length < MIN_PEPPER_BYTES) {
                        throw new IllegalStateException("strata.auth.pepper (STRATA_AUTH_PEPPER) must be at least "
                                + MIN_PEPPER_BYTES + " bytes, e.g. $(openssl rand -hex 32)");
                    }
                    return bytes;
                })
                .orElseGet(() -> {
                    if (LaunchMode.current() == LaunchMode.NORMAL) {
                        throw new IllegalStateException("strata.auth.pepper (STRATA_AUTH_PEPPER) is required: "
                                + "the secret API keys are hashed with, from Vault or a Kubernetes Secret");
                    }
                    byte[] generated = new byte[MIN_PEPPER_BYTES];
                    new SecureRandom().nextBytes(generated);
                    return generated;
                });
    }

    void start(@Observes StartupEvent event) {
        config.bootstrapAdminKey().filter(k -> !k.isBlank()).ifPresent(secret -> {
            if (!SECRET.matcher(secret).matches()) {
                throw new IllegalStateException(
                        "strata.auth.bootstrap-admin-key must be 16-128 characters of [A-Za-z0-9_-]");
            }
            String hash = hash(secret);
            store.create("key_boot_" + hash.substring(0, 12), "bootstrap admin", hash, List.of(Scopes.ADMIN), 0)
                    .await()
                    .atMost(Duration.ofSeconds(30));
        });
        if (LaunchMode.current() == LaunchMode.DEVELOPMENT) {
            Created dev = create("dev admin", List.of(Scopes.ADMIN), 0).await().atMost(Duration.ofSeconds(30));
            LOG.infof(
                    "Dev mode admin API key (this instance only, never in production): %s%n"
                            + "  curl -H 'Authorization: Bearer %s' localhost:8080/v1/books/docs",
                    dev.secret(), dev.secret());
        }
    }

    /** The keyed hash under which a secret is stored. */
    public String hash(String secret) {
        Mac mac = macs.get();
        return HexFormat.of().formatHex(mac.doFinal(secret.getBytes(StandardCharsets.UTF_8)));
    }

    /** The key a presented secret belongs to, if any. */
    public Uni<Verification> verify(String secret) {
        if (secret == null || !SECRET.matcher(secret).matches()) {
            return Uni.createFrom().item(Verification.INVALID);
        }
        String hash = hash(secret);
        Verified cached = verified.getIfPresent(hash);
        if (cached != null) {
            return Uni.createFrom().item(new Verification(cached, false));
        }
        if (unknown.getIfPresent(hash) != null) {
            return Uni.createFrom().item(Verification.INVALID);
        }
        CompletableFuture<StoredKey> lookup = new CompletableFuture<>();
        CompletableFuture<StoredKey> running = lookups.putIfAbsent(hash, lookup);
        if (running == null) {
            if (lastKnown.getIfPresent(hash) == null && !issuedHere(secret) && !lookupBudget.tryAcquire()) {
                lookups.remove(hash, lookup);
                lookup.completeExceptionally(NOT_LOOKED_UP);
                return Uni.createFrom().item(Verification.THROTTLED);
            }
            lookUp(hash, lookup);
            running = lookup;
        }
        return Uni.createFrom()
                .completionStage(running)
                .map(key -> key == null || key.revoked()
                        ? Verification.INVALID
                        : new Verification(new Verified(key.id(), key.scopes(), key.rateLimit()), false))
                .onFailure(failure -> failure == NOT_LOOKED_UP)
                .recoverWithItem(Verification.THROTTLED)
                .onFailure(StorageUnavailableException.class)
                .recoverWithUni(failure -> {
                    Verified known = lastKnown.getIfPresent(hash);
                    return known != null
                            ? Uni.createFrom().item(new Verification(known, false))
                            : Uni.createFrom().failure(failure);
                });
    }

    private void lookUp(String hash, CompletableFuture<StoredKey> lookup) {
        long revocationsBefore = revocations.get();
        storageLookups.increment();
        store.findByHash(hash)
                .subscribe()
                .with(
                        key -> {
                            // a revocation heard meanwhile may concern this key and may have come after the read
                            if (revocations.get() == revocationsBefore) {
                                if (key == null || key.revoked()) {
                                    unknown.put(hash, Boolean.TRUE);
                                    lastKnown.invalidate(hash);
                                } else {
                                    Verified v = new Verified(key.id(), key.scopes(), key.rateLimit());
                                    verified.put(hash, v);
                                    lastKnown.put(hash, v);
                                }
                            }
                            lookups.remove(hash, lookup);
                            lookup.complete(key);
                        },
                        failure -> {
                            lookups.remove(hash, lookup);
                            lookup.completeExceptionally(failure);
                        });
    }

    /** Whether a secret carries the tag of the keys Strata issues (see the class comment). */
    boolean issuedHere(String secret) {
        if (!secret.startsWith(SECRET_PREFIX) || secret.length() != SECRET_PREFIX.length() + 43) {
            return false;
        }
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(secret.substring(SECRET_PREFIX.length()));
        } catch (IllegalArgumentException e) {
            return false;
        }
        return bytes.length == 32
                && MessageDigest.isEqual(
                        tag(Arrays.copyOf(bytes, RANDOM_BYTES)), Arrays.copyOfRange(bytes, RANDOM_BYTES, 32));
    }

    private byte[] tag(byte[] randomPart) {
        Mac mac = macs.get();
        mac.update(TAG_DOMAIN);
        return Arrays.copyOf(mac.doFinal(randomPart), 32 - RANDOM_BYTES);
    }

    /** Creates a key; its secret is in the answer and nowhere else. */
    public Uni<Created> create(String name, List<String> scopes, int rateLimit) {
        byte[] randomPart = new byte[RANDOM_BYTES];
        random.nextBytes(randomPart);
        byte[] bytes = Arrays.copyOf(randomPart, 32);
        System.arraycopy(tag(randomPart), 0, bytes, RANDOM_BYTES, 32 - RANDOM_BYTES);
        String secret = SECRET_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        byte[] idBytes = new byte[9];
        random.nextBytes(idBytes);
        String id = "key_" + HexFormat.of().formatHex(idBytes);
        return store.create(id, name, hash(secret), scopes, rateLimit).map(key -> new Created(key, secret));
    }

    public Uni<List<StoredKey>> list() {
        return store.list();
    }

    /** Revokes a key here at once (every other instance hears of it through the store). */
    public Uni<StoredKey> revoke(String id) {
        return store.revoke(id).invoke(key -> {
            if (key != null) {
                revocations.incrementAndGet();
                verified.invalidate(key.hash());
                lastKnown.invalidate(key.hash());
            }
        });
    }
}
