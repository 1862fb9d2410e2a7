package dev.vllmrouter.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.config.AuthConfig;

class KeyValidatorTest {
    private final AtomicLong now = new AtomicLong();
    private final AtomicInteger calls = new AtomicInteger();
    private final KeyValidator validator = new KeyValidator(List.of("http://v/1"), Duration.ofSeconds(300),
            (url, token) -> {
                calls.incrementAndGet();
                return token.startsWith("good") ? 200 : 401;
            }, now::get);

    @Test
    void validAnswersLiveForTheTtlInvalidOnesForAtMostThirtySeconds() {
        assertThat(validator.valid("good")).isTrue();
        assertThat(validator.valid("bad")).isFalse();
        assertThat(calls.get()).isEqualTo(2);
        now.addAndGet(Duration.ofSeconds(29).toNanos());
        validator.valid("good");
        validator.valid("bad");
        assertThat(calls.get()).isEqualTo(2);
        now.addAndGet(Duration.ofSeconds(2).toNanos());
        validator.valid("bad");
        assertThat(calls.get()).as("the invalid answer expired after 30 s").isEqualTo(3);
        validator.valid("good");
        assertThat(calls.get()).isEqualTo(3);
        now.addAndGet(Duration.ofSeconds(300).toNanos());
        validator.valid("good");
        assertThat(calls.get()).as("a revoked key is asked about again after the TTL").isEqualTo(4);
    }

    @Test
    void theCacheStaysBounded() {
        for (int i = 0; i < KeyValidator.MAX_ENTRIES + 50; i++) {
            validator.valid("bad-" + i);
        }
        assertThat(validator.cached()).isLessThanOrEqualTo(KeyValidator.MAX_ENTRIES);
    }

    @Test
    void bearerParsing() {
        assertThat(Authenticator.bearer("Bearer abc")).isEqualTo("abc");
        assertThat(Authenticator.bearer("BEARER  abc ")).isEqualTo("abc");
        assertThat(Authenticator.bearer("Bearer ")).isNull();
        assertThat(Authenticator.bearer("Basic abc")).isNull();
        assertThat(Authenticator.bearer(null)).isNull();
    }

    @Test
    void probesNeverNeedAKey() {
        Authenticator auth = new Authenticator(new AuthConfig(java.util.Set.of("k"), "adm", List.of(),
                Duration.ZERO), null);
        assertThat(auth.allows(Authenticator.Access.PUBLIC, null)).isTrue();
        assertThat(auth.allows(Authenticator.Access.CLIENT, null)).isFalse();
        assertThat(auth.allows(Authenticator.Access.ADMIN, "Bearer k")).isFalse();
        assertThat(auth.allows(Authenticator.Access.ADMIN, "Bearer adm")).isTrue();
    }
}
