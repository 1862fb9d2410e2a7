package dev.vllmrouter.fault;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.Locale;
import java.util.Objects;

import dev.vllmrouter.fault.FailedAttempt.Transport;

/**
 * Whether to retry a failed upstream attempt, as a pure function of its {@link FailedAttempt} facts and the
 * {@link RetryConfig}. The rules, first match wins:
 * <ol>
 * <li>a body byte already went to the client: give up ({@link Reason#BODY_STARTED}); the answer cannot be taken back;
 * <li>a head whose status is not 408, 429, 500, 502, 503 or 504 (vllm-router's set): give up;
 * <li>a read timeout: give up. The request reached the worker, which may still be generating, and the time is
 *     spent; a request that never fully reached the worker is {@link Transport#SEND}, which is retried;
 * <li>connect, send or connection-lost failures before a head (vllm-router maps them to a retryable 500):
 *     retryable, as are the statuses above;
 * <li>a retryable failure on the last allowed attempt ({@code maxAttempts}, 1 when retries are disabled): give up
 *     ({@link Reason#ATTEMPTS_EXHAUSTED}, vllm-router's {@code retries_exhausted});
 * <li>no worker left that this request has not tried: give up (vllm-router may re-pick the failed worker; we don't).
 * </ol>
 * Also parses {@code Retry-After} (RFC 9110 §10.2.3) for {@link Backoff#delay(int, Duration)}.
 *
 * @param verdict retry or give up
 * @param reason  why, for logs and metrics ({@link Reason#label()})
 */
public record RetryDecision(Verdict verdict, Reason reason) {

    public enum Verdict { RETRY, GIVE_UP }

    public enum Reason {
        RETRYABLE_STATUS, TRANSPORT_FAILURE,
        BODY_STARTED, NOT_RETRYABLE_STATUS, READ_TIMEOUT, ATTEMPTS_EXHAUSTED, NO_UNTRIED_WORKER,
        /** A request with side effects may have reached the worker before its connection broke: not sent again. */
        MAY_HAVE_REACHED;

        /** Lower-case name, a stable metric label. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public RetryDecision {
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(reason, "reason");
    }

    public boolean retry() {
        return verdict == Verdict.RETRY;
    }

    public static RetryDecision decide(FailedAttempt failed, RetryConfig config) {
        if (failed.bytesSentToClient() > 0) {
            return giveUp(Reason.BODY_STARTED);
        }
        Reason retryable;
        if (failed.transport() == Transport.NONE) {
            if (!isRetryableStatus(failed.status())) {
                return giveUp(Reason.NOT_RETRYABLE_STATUS);
            }
            retryable = Reason.RETRYABLE_STATUS;
        } else if (failed.transport() == Transport.READ_TIMEOUT) {
            return giveUp(Reason.READ_TIMEOUT);
        } else {
            retryable = Reason.TRANSPORT_FAILURE;
        }
        if (failed.attempt() >= config.maxAttempts()) {
            return giveUp(Reason.ATTEMPTS_EXHAUSTED);
        }
        if (!failed.untriedWorkerLeft()) {
            return giveUp(Reason.NO_UNTRIED_WORKER);
        }
        return new RetryDecision(Verdict.RETRY, retryable);
    }

    /** vllm-router's retryable statuses: 408, 429, 500, 502, 503, 504. */
    public static boolean isRetryableStatus(int status) {
        return switch (status) {
            case 408, 429, 500, 502, 503, 504 -> true;
            default -> false;
        };
    }

    private static RetryDecision giveUp(Reason reason) {
        return new RetryDecision(Verdict.GIVE_UP, reason);
    }

    // ---- Retry-After

    private static final DateTimeFormatter IMF_FIXDATE = DateTimeFormatter.ofPattern("dd MMM yyyy HH:mm:ss 'GMT'",
            Locale.US);
    private static final DateTimeFormatter ASCTIME = DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss yyyy", Locale.US);

    /**
     * The wait a {@code Retry-After} value asks for: delay-seconds ({@code "120"}) or an HTTP-date in any of the
     * three forms RFC 9110 requires recipients to accept ({@code "Sun, 06 Nov 1994 08:49:37 GMT"},
     * {@code "Sunday, 06-Nov-94 08:49:37 GMT"}, {@code "Sun Nov  6 08:49:37 1994"}). The weekday is not checked.
     * A date in the past gives {@link Duration#ZERO}; absurdly large delay-seconds saturate. {@code null}, blank or
     * anything else gives {@code null}.
     */
    public static Duration parseRetryAfter(String headerValue, Instant now) {
        Objects.requireNonNull(now, "now");
        if (headerValue == null) {
            return null;
        }
        String v = headerValue.strip();
        if (v.isEmpty()) {
            return null;
        }
        if (v.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return v.length() > 18 ? Duration.ofSeconds(Long.MAX_VALUE) : Duration.ofSeconds(Long.parseLong(v));
        }
        Instant at = parseHttpDate(v, now);
        if (at == null) {
            return null;
        }
        return at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
    }

    private static Instant parseHttpDate(String v, Instant now) {
        int comma = v.indexOf(',');
        int space = v.indexOf(' ');
        try {
            if (comma > 0 && v.indexOf('-') > comma) {
                return LocalDateTime.parse(v.substring(comma + 1).strip(), rfc850(now)).toInstant(ZoneOffset.UTC);
            }
            if (comma > 0) {
                return LocalDateTime.parse(v.substring(comma + 1).strip(), IMF_FIXDATE).toInstant(ZoneOffset.UTC);
            }
            if (space > 0) {
                return LocalDateTime.parse(v.substring(space + 1).strip(), ASCTIME).toInstant(ZoneOffset.UTC);
            }
        } catch (DateTimeParseException e) {
            return null;
        }
        return null;
    }

    /** RFC 850 dates have a two-digit year, read as the year that is not more than 50 years in the future. */
    private static DateTimeFormatter rfc850(Instant now) {
        int thisYear = LocalDateTime.ofInstant(now, ZoneOffset.UTC).getYear();
        return new DateTimeFormatterBuilder()
                .appendPattern("dd-MMM-")
                .appendValueReduced(ChronoField.YEAR, 2, 2, thisYear - 49)
                .appendPattern(" HH:mm:ss 'GMT'")
                .toFormatter(Locale.US);
    }
}
