package dev.vllmrouter.config;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Inbound authentication.
 *
 * @param clientKeys      {@code --client-api-keys} and {@code --client-api-keys-file}: keys clients may send as
 *                        {@code Authorization: Bearer <key>} (extension)
 * @param adminKey        {@code --admin-api-key}: the key of the admin routes, or {@code null} (extension)
 * @param validationUrls  {@code --api-key-validation-urls} (or {@code API_KEY_VALIDATION_URLS}): services asked
 *                        whether a key is valid (vllm-router)
 * @param cacheTtl        {@code --api-key-cache-ttl-secs}: how long a validation answer is reused (extension)
 */
public record AuthConfig(Set<String> clientKeys, String adminKey, List<String> validationUrls, Duration cacheTtl) {
    public AuthConfig {
        clientKeys = Set.copyOf(clientKeys);
        validationUrls = List.copyOf(validationUrls);
    }

    /** Whether client routes need a key. */
    public boolean clientAuth() {
        return !clientKeys.isEmpty() || !validationUrls.isEmpty();
    }
}
