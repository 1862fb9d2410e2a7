package dev.vllmrouter.auth;

import java.time.Duration;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.config.AuthConfig;

import static org.assertj.core.api.Assertions.assertThat;

class AuthSummaryTest {
    private static AuthConfig auth(Set<String> clientKeys, String adminKey) {
        return new AuthConfig(clientKeys, adminKey, List.of(), Duration.ofSeconds(300));
    }

    @Test
    void clientKeysWithoutAnAdminKeyWarnThatEveryClientIsAnAdmin() {
        List<AuthSummary.Line> lines = AuthSummary.of(auth(Set.of("k1", "k2"), null), "0.0.0.0");
        assertThat(lines).anySatisfy(l -> assertThat(l.text()).startsWith("client routes").contains("2 static"));
        assertThat(lines).filteredOn(AuthSummary.Line::warning).singleElement()
                .satisfies(l -> assertThat(l.text()).startsWith("no --admin-api-key")
                        .contains("add its own server"));
    }

    @Test
    void bothKeysSayWhichRoutesNeedWhichAndWarnAboutNothing() {
        List<AuthSummary.Line> lines = AuthSummary.of(auth(Set.of("k1"), "admin"), "0.0.0.0");
        assertThat(lines).noneMatch(AuthSummary.Line::warning);
        assertThat(lines).extracting(AuthSummary.Line::text)
                .anySatisfy(t -> assertThat(t).startsWith("probes").endsWith("need no key"))
                .anySatisfy(t -> assertThat(t).startsWith("client routes").endsWith("or the admin key"))
                .anySatisfy(t -> assertThat(t).startsWith("admin routes").endsWith("need the admin key"));
    }

    @Test
    void noKeyIsAWarningOnlyBeyondLoopback() {
        assertThat(AuthSummary.of(auth(Set.of(), null), "127.0.0.1")).singleElement()
                .satisfies(l -> assertThat(l.warning()).isFalse());
        assertThat(AuthSummary.of(auth(Set.of(), null), "0.0.0.0")).singleElement()
                .satisfies(l -> assertThat(l.warning()).isTrue())
                .satisfies(l -> assertThat(l.text()).contains("set --admin-api-key"));
    }
}
