package dev.vllmrouter.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.vllmrouter.config.AuthConfig;

/**
 * Decides whether a request may use a route, from its {@code Authorization: Bearer <key>} header.
 * <ul>
 *   <li>Probes ({@link Access#PUBLIC}) never need a key, so orchestrators can always check the router.</li>
 *   <li>Client routes need one when client keys or validation URLs are configured: a configured key, the admin key,
 *       or a key a validation service accepts ({@link KeyValidator}).</li>
 *   <li>Admin routes need the admin key when one is set; otherwise they are treated as client routes (vllm-router
 *       protects every route alike).</li>
 * </ul>
 * Keys are compared in constant time. The scheme {@code Bearer} is matched case-insensitively (RFC 9110; vllm-router
 * requires exactly {@code Bearer }). Thread-safe and immutable but for the validator's cache.
 */
public final class Authenticator {
    /** Which keys a route needs. */
    public enum Access { PUBLIC, CLIENT, ADMIN }

    private final List<byte[]> clientKeys = new ArrayList<>();
    private final byte[] adminKey;
    private final KeyValidator validator;
    private final boolean clientAuth;

    /** @param validator asks the validation services; {@code null} when none is configured */
    public Authenticator(AuthConfig config, KeyValidator validator) {
        config.clientKeys().forEach(k -> clientKeys.add(k.getBytes(StandardCharsets.UTF_8)));
        this.adminKey = config.adminKey() == null ? null : config.adminKey().getBytes(StandardCharsets.UTF_8);
        this.validator = validator;
        this.clientAuth = config.clientAuth();
    }

    /** Whether an admin key is set (else the admin routes take client keys, or none). */
    public boolean adminKeySet() {
        return adminKey != null;
    }

    /**
     * Whether a request to an admin route with {@code method} may be one a web page forged cross-site: without an admin
     * key, such a route has nothing a browser cannot send, so a state-changing request that a browser sent (it
     * carries {@code Origin}, or {@code Sec-Fetch-Site} other than {@code none}) is refused; scripts, curl and
     * orchestrators send neither. GET and HEAD change nothing.
     */
    public boolean forgeable(Access access, String method, String origin, String secFetchSite) {
        if (access != Access.ADMIN || adminKey != null || method.equals("GET") || method.equals("HEAD")
                || method.equals("OPTIONS")) {
            return false;
        }
        return origin != null || (secFetchSite != null && !secFetchSite.equalsIgnoreCase("none"));
    }

    /** Whether any route needs a key (else {@link #allows} is always true and need not be called). */
    public boolean enabled() {
        return clientAuth || adminKey != null;
    }

    /** Whether a request carrying {@code authorization} (may be {@code null}) may use a route of {@code access}. */
    public boolean allows(Access access, String authorization) {
        if (access == Access.PUBLIC) {
            return true;
        }
        if (access == Access.ADMIN && adminKey != null) {
            String token = bearer(authorization);
            return token != null && matches(adminKey, token);
        }
        if (!clientAuth) {
            return true;
        }
        String token = bearer(authorization);
        if (token == null) {
            return false;
        }
        if (adminKey != null && matches(adminKey, token)) {
            return true;
        }
        for (byte[] key : clientKeys) {
            if (matches(key, token)) {
                return true;
            }
        }
        return validator != null && validator.valid(token);
    }

    /** The token of a {@code Bearer} credential, or {@code null}. */
    static String bearer(String authorization) {
        if (authorization == null || authorization.length() < 8
                || !authorization.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
            return null;
        }
        String token = authorization.substring(7).trim();
        return token.isEmpty() ? null : token;
    }

    private static boolean matches(byte[] key, String token) {
        return MessageDigest.isEqual(key, token.getBytes(StandardCharsets.UTF_8));
    }
}
