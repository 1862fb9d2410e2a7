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
    private volatile boolean down;
    private volatile int downStatus = -1;
    private final KeyValidator validator = new KeyValidator(List.of("http://v/1", "http://v/2"),
            Duration.ofSeconds(300), (url, token) -> {
                if (url.endsWith("/1")) {
                    calls.incrementAndGet(); // validations asked, counted once each
                }
                return down ? downStatus : token.startsWith("good") ? 200 : 401;
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
    void aFloodOfRefusedKeysCannotEvictAcceptedOnes() {
        assertThat(validator.valid("good-client")).isTrue();
        for (int i = 0; i < KeyValidator.MAX_ENTRIES + 50; i++) {
            validator.valid("bad-" + i);
        }
        int before = calls.get();
        assertThat(validator.valid("good-client")).isTrue();
        assertThat(calls.get()).as("still cached").isEqualTo(before);
    }

    @Test
    void anOutageCachesNoRefusalAndKeepsRecentlyAcceptedKeys() {
        assertThat(validator.valid("good-old")).isTrue();
        now.addAndGet(Duration.ofSeconds(301).toNanos()); // its entry expired ...
        down = true; // ... while no validation service can be reached
        assertThat(validator.valid("good-old")).as("stale while unreachable").isTrue();
        assertThat(validator.valid("good-new")).as("never seen: refused").isFalse();
        down = false;
        assertThat(validator.valid("good-new")).as("the outage was not cached as a refusal").isTrue();

        down = true;
        now.addAndGet(Duration.ofSeconds(300).toNanos()); // more than one TTL past good-old's expiry
        assertThat(validator.valid("good-old")).as("stale for one TTL at most").isFalse();
    }

    @Test
    void aValidatorAnswering503IsDownNotARefusal() {
        assertThat(validator.valid("good-old")).isTrue();
        now.addAndGet(Duration.ofSeconds(301).toNanos());
        down = true;
        downStatus = 503; // a load balancer whose back end is gone
        assertThat(validator.valid("good-old")).as("stale while the services give no verdict").isTrue();
        assertThat(validator.valid("good-new")).isFalse();
        down = false;
        assertThat(validator.valid("good-new")).as("the 503 was not cached as a refusal").isTrue();
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
