package io.strata.gateway.security;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.strata.storage.ApiKeyStore;
import io.strata.storage.ApiKeyStore.StoredKey;
import io.strata.storage.StorageUnavailableException;

/**
 * API keys: created with a random secret shown once, stored as HMAC-SHA256(pepper, secret), verified
 * by hashing the presented secret and looking the hash up. Verified keys are cached for
 * {@code strata.auth.key-cache-ttl}; a revocation on any instance reaches every instance's cache
 * through the storage's revocation announcements, so revocation takes effect at once, and within the
 * cache TTL at worst (an announcement lost while an instance was disconnected makes it forget every
 * verified key when it reconnects). While storage is unavailable, keys verified before keep working
 * (storage could not record a revocation either), so that cached documents stay readable.
 */
@ApplicationScoped
public class ApiKeys {

    private static final Logger LOG = Logger.getLogger(ApiKeys.class);
    /** What a presented secret may look like: checked before any hashing or lookup. */
    private static final Pattern SECRET = Pattern.compile("[A-Za-z0-9_-]{16,128}");
    private static final Duration LAST_KNOWN = Duration.ofMinutes(30);

    /** A verified key: what the request may do. */
    public record Verified(String id, List<String> scopes, int rateLimit) {
    }

    /** A created key with its secret (the only time the secret exists outside the client). */
    public record Created(StoredKey key, String secret) {
    }

    private final ApiKeyStore store;
    private final AuthConfig config;
    private final SecretKeySpec pepper;
    private final ThreadLocal<Mac> macs;
    private final SecureRandom random = new SecureRandom();
    private final Cache<String, Verified> verified;
    private final Cache<String, Verified> lastKnown;
    private final Cache<String, Boolean> unknown;

    public ApiKeys(ApiKeyStore store, AuthConfig config) {
        this.store = store;
        this.config = config;
        byte[] secret = config.pepper().filter(p -> !p.isBlank()).map(p -> p.getBytes(StandardCharsets.UTF_8)).orElseGet(() -> {
            if (LaunchMode.current() == LaunchMode.NORMAL) {
                throw new IllegalStateException("strata.auth.pepper (STRATA_AUTH_PEPPER) is required: "
                        + "the secret API keys are hashed with, from Vault or a Kubernetes Secret");
            }
            byte[] generated = new byte[32];
            new SecureRandom().nextBytes(generated);
            return generated;
        });
        this.pepper = new SecretKeySpec(secret, "HmacSHA256");
        this.macs = ThreadLocal.withInitial(() -> {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(pepper);
                return mac;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        });
        this.verified = Caffeine.newBuilder().maximumSize(100_000).expireAfterWrite(config.keyCacheTtl()).build();
        this.lastKnown = Caffeine.newBuilder().maximumSize(100_000).expireAfterWrite(LAST_KNOWN).build();
        this.unknown = Caffeine.newBuilder().maximumSize(100_000).expireAfterWrite(config.unknownKeyCacheTtl()).build();
        store.onRevocation(hash -> {
            if ("*".equals(hash)) {
                verified.invalidateAll();
                lastKnown.invalidateAll();
            } else {
                verified.invalidate(hash);
                lastKnown.invalidate(hash);
            }
        });
    }

    void start(@Observes StartupEvent event) {
        config.bootstrapAdminKey().filter(k -> !k.isBlank()).ifPresent(secret -> {
            if (!SECRET.matcher(secret).matches()) {
                throw new IllegalStateException("strata.auth.bootstrap-admin-key must be 16-128 characters of [A-Za-z0-9_-]");
            }
            String hash = hash(secret);
            store.create("key_boot_" + hash.substring(0, 12), "bootstrap admin", hash, List.of(Scopes.ADMIN), 0)
                    .await().atMost(Duration.ofSeconds(30));
        });
        if (LaunchMode.current() == LaunchMode.DEVELOPMENT) {
            Created dev = create("dev admin", List.of(Scopes.ADMIN), 0).await().atMost(Duration.ofSeconds(30));
            LOG.infof("Dev mode admin API key (this instance only, never in production): %s%n"
                    + "  curl -H 'Authorization: Bearer %s' localhost:8080/v1/books/docs", dev.secret(), dev.secret());
        }
    }

    /** The keyed hash under which a secret is stored. */
    public String hash(String secret) {
        Mac mac = macs.get();
        return HexFormat.of().formatHex(mac.doFinal(secret.getBytes(StandardCharsets.UTF_8)));
    }

    /** The key a presented secret belongs to, or {@code null} when it is unknown, malformed or revoked. */
    public Uni<Verified> verify(String secret) {
        if (secret == null || !SECRET.matcher(secret).matches()) {
            return Uni.createFrom().nullItem();
        }
        String hash = hash(secret);
        Verified cached = verified.getIfPresent(hash);
        if (cached != null) {
            return Uni.createFrom().item(cached);
        }
        if (unknown.getIfPresent(hash) != null) {
            return Uni.createFrom().nullItem();
        }
        return store.findByHash(hash).map(key -> {
            if (key == null || key.revoked()) {
                unknown.put(hash, Boolean.TRUE);
                lastKnown.invalidate(hash);
                return null;
            }
            Verified v = new Verified(key.id(), key.scopes(), key.rateLimit());
            verified.put(hash, v);
            lastKnown.put(hash, v);
            return v;
        }).onFailure(StorageUnavailableException.class).recoverWithUni(failure -> {
            Verified known = lastKnown.getIfPresent(hash);
            return known != null ? Uni.createFrom().item(known) : Uni.createFrom().failure(failure);
        });
    }

    /** Creates a key; its secret is in the answer and nowhere else. */
    public Uni<Created> create(String name, List<String> scopes, int rateLimit) {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String secret = "sk_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
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
                verified.invalidate(key.hash());
                lastKnown.invalidate(key.hash());
            }
        });
    }
}
