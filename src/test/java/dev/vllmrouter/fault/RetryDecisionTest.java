package dev.vllmrouter.fault;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

import dev.vllmrouter.fault.FailedAttempt.Transport;
import dev.vllmrouter.fault.RetryDecision.Reason;
import dev.vllmrouter.fault.RetryDecision.Verdict;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetryDecisionTest {
    private static final RetryConfig DEFAULTS = RetryConfig.defaults();

    @ParameterizedTest(name = "status {0} on attempt 1 -> {1} {2}")
    @CsvSource({
        "408, RETRY, RETRYABLE_STATUS",
        "429, RETRY, RETRYABLE_STATUS",
        "500, RETRY, RETRYABLE_STATUS",
        "502, RETRY, RETRYABLE_STATUS",
        "503, RETRY, RETRYABLE_STATUS",
        "504, RETRY, RETRYABLE_STATUS",
        "200, GIVE_UP, NOT_RETRYABLE_STATUS",
        "400, GIVE_UP, NOT_RETRYABLE_STATUS",
        "401, GIVE_UP, NOT_RETRYABLE_STATUS",
        "404, GIVE_UP, NOT_RETRYABLE_STATUS",
        "413, GIVE_UP, NOT_RETRYABLE_STATUS",
        "422, GIVE_UP, NOT_RETRYABLE_STATUS",
        "501, GIVE_UP, NOT_RETRYABLE_STATUS",
        "505, GIVE_UP, NOT_RETRYABLE_STATUS",
        "507, GIVE_UP, NOT_RETRYABLE_STATUS",
    })
    void statuses(int status, Verdict verdict, Reason reason) {
        assertThat(RetryDecision.decide(FailedAttempt.status(status, 1), DEFAULTS))
                .isEqualTo(new RetryDecision(verdict, reason));
    }

    @ParameterizedTest(name = "{0} before a head -> {1} {2}")
    @CsvSource({
        "CONNECT, RETRY, TRANSPORT_FAILURE",
        "SEND, RETRY, TRANSPORT_FAILURE",
        "LOST, RETRY, TRANSPORT_FAILURE",
        "READ_TIMEOUT, GIVE_UP, READ_TIMEOUT",
    })
    void transportFailures(Transport kind, Verdict verdict, Reason reason) {
        assertThat(RetryDecision.decide(FailedAttempt.transport(kind, 1), DEFAULTS))
                .isEqualTo(new RetryDecision(verdict, reason));
    }

    @Test
    void nothingIsRetriedOnceABodyByteReachedTheClient() {
        assertThat(RetryDecision.decide(FailedAttempt.status(503, 1).withBytesSentToClient(1), DEFAULTS).reason())
                .isEqualTo(Reason.BODY_STARTED);
        assertThat(RetryDecision.decide(FailedAttempt.transport(Transport.LOST, 1).withBytesSentToClient(9),
                DEFAULTS).reason()).isEqualTo(Reason.BODY_STARTED);
    }

    @Test
    void theLastAllowedAttemptIsNotRetried() {
        assertThat(RetryDecision.decide(FailedAttempt.status(503, 4), DEFAULTS).retry()).isTrue();
        assertThat(RetryDecision.decide(FailedAttempt.status(503, 5), DEFAULTS))
                .isEqualTo(new RetryDecision(Verdict.GIVE_UP, Reason.ATTEMPTS_EXHAUSTED));
        RetryConfig disabled = new RetryConfig(5, DEFAULTS.initialBackoff(), DEFAULTS.maxBackoff(), 1.5, 0.2, true);
        assertThat(RetryDecision.decide(FailedAttempt.transport(Transport.CONNECT, 1), disabled).reason())
                .isEqualTo(Reason.ATTEMPTS_EXHAUSTED);
    }

    @Test
    void noUntriedWorkerMeansGiveUpButANonRetryableStatusIsReportedFirst() {
        FailedAttempt lastWorker = FailedAttempt.status(502, 1).withUntriedWorkerLeft(false);
        assertThat(RetryDecision.decide(lastWorker, DEFAULTS).reason()).isEqualTo(Reason.NO_UNTRIED_WORKER);
        assertThat(RetryDecision.decide(FailedAttempt.status(400, 1).withUntriedWorkerLeft(false), DEFAULTS).reason())
                .isEqualTo(Reason.NOT_RETRYABLE_STATUS);
    }

    @Test
    void reasonsHaveMetricLabels() {
        assertThat(Reason.NO_UNTRIED_WORKER.label()).isEqualTo("no_untried_worker");
    }

    @Test
    void inconsistentFactsAreRejected() {
        assertThatThrownBy(() -> new FailedAttempt(503, Transport.CONNECT, 0, 1, true))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FailedAttempt(0, Transport.NONE, 0, 1, true))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FailedAttempt.status(503, 0)).hasMessageStartingWith("attempt: 0");
        assertThatThrownBy(() -> FailedAttempt.status(503, 1).withBytesSentToClient(-1))
                .hasMessageStartingWith("bytesSentToClient");
    }

    // ---- Retry-After

    private static final Instant NOW = Instant.parse("1994-11-06T08:49:07Z");

    @Test
    void retryAfterDelaySeconds() {
        assertThat(RetryDecision.parseRetryAfter("120", NOW)).isEqualTo(Duration.ofSeconds(120));
        assertThat(RetryDecision.parseRetryAfter(" 0 ", NOW)).isEqualTo(Duration.ZERO);
        assertThat(RetryDecision.parseRetryAfter("99999999999999999999999", NOW))
                .isEqualTo(Duration.ofSeconds(Long.MAX_VALUE));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994"})
    void retryAfterHttpDateInAllThreeForms(String value) {
        assertThat(RetryDecision.parseRetryAfter(value, NOW)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void retryAfterInThePastMeansNow() {
        assertThat(RetryDecision.parseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", NOW)).isEqualTo(Duration.ZERO);
    }

    @Test
    void rfc850TwoDigitYearsAreNeverMoreThanFiftyYearsAhead() {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        assertThat(RetryDecision.parseRetryAfter("Thursday, 01-Jan-26 00:00:10 GMT", now))
                .isEqualTo(Duration.ofSeconds(10));
        assertThat(RetryDecision.parseRetryAfter("Tuesday, 01-Jan-80 00:00:00 GMT", now))
                .as("1980, not 2080").isEqualTo(Duration.ZERO);
    }

    @ParameterizedTest(name = "\"{0}\"")
    @NullSource
    @ValueSource(strings = {"", "  ", "soon", "-1", "1.5", "+5", "0x10", "Sun, 06 Nov 1994 08:49:37 PST",
        "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994", "Sunday, 06-Nov-94", "Sun Nov  6 1994"})
    void retryAfterGarbageIsNull(String value) {
        assertThat(RetryDecision.parseRetryAfter(value, NOW)).isNull();
    }
}
