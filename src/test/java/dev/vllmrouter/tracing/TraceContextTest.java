package dev.vllmrouter.tracing;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TraceContextTest {
    private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String SPAN = "00f067aa0ba902b7";

    @Test
    void readsTheSpecExample() {
        TraceContext c = TraceContext.parse("00-" + TRACE + "-" + SPAN + "-01", "congo=t61rcWkgMzE");

        assertThat(c).isEqualTo(new TraceContext(TRACE, SPAN, true, "congo=t61rcWkgMzE"));
        assertThat(c.traceparent()).isEqualTo("00-" + TRACE + "-" + SPAN + "-01");
    }

    @Test
    void onlyTheLowestFlagBitMeansSampled() {
        assertThat(TraceContext.parse("00-" + TRACE + "-" + SPAN + "-00", null).sampled()).isFalse();
        assertThat(TraceContext.parse("00-" + TRACE + "-" + SPAN + "-03", null).sampled()).isTrue();
        assertThat(TraceContext.parse("00-" + TRACE + "-" + SPAN + "-02", null).sampled()).isFalse();
        // the router writes version 00, which defines only the sampled bit
        assertThat(TraceContext.parse("00-" + TRACE + "-" + SPAN + "-03", null).traceparent()).endsWith("-01");
    }

    @Test
    void laterVersionsAreReadByTheVersion00LayoutAndTheirExtraFieldsIgnored() {
        assertThat(TraceContext.parse("01-" + TRACE + "-" + SPAN + "-01-what-the-future-holds", null))
                .isEqualTo(new TraceContext(TRACE, SPAN, true, null));
        assertThat(TraceContext.parse("cc-" + TRACE + "-" + SPAN + "-01", null)).isNotNull();
    }

    @Test
    void surroundingWhitespaceIsTolerated() {
        assertThat(TraceContext.parse("  00-" + TRACE + "-" + SPAN + "-01 ", " a=1 ")).isEqualTo(
                new TraceContext(TRACE, SPAN, true, "a=1"));
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {
            "00-" + TRACE + "-" + SPAN + "-01-",                                  // v00 has nothing after the flags
            "00-" + TRACE + "-" + SPAN + "-01x",
            "01-" + TRACE + "-" + SPAN + "-01x",                                  // extra fields need a '-'
            "ff-" + TRACE + "-" + SPAN + "-01",                                   // version ff is invalid
            "0g-" + TRACE + "-" + SPAN + "-01",
            "00-00000000000000000000000000000000-" + SPAN + "-01",                // all-zero trace id
            "00-" + TRACE + "-0000000000000000-01",                               // all-zero parent id
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + SPAN + "-01",                // upper case
            "00-" + TRACE + "-00F067AA0BA902B7-01",
            "00-" + TRACE + "-" + SPAN + "-0x",
            "00-4bf92f3577b34da6a3ce929d0e0e473-" + SPAN + "-01",                 // 31 digits
            "00-" + TRACE + "-00f067aa0ba902b-01",                                // 15 digits
            "00_" + TRACE + "_" + SPAN + "_01",
            "00-" + TRACE + SPAN + "--01",
            "garbage",
    })
    void malformedHeadersGiveNoContext(String header) {
        assertThat(TraceContext.parse(header, "a=1")).isNull();
    }

    @Test
    void tracestateIsKeptAsIsOrAbsent() {
        String state = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
        assertThat(TraceContext.parse("00-" + TRACE + "-" + SPAN + "-01", state).traceState()).isEqualTo(state);
        assertThat(TraceContext.parse("00-" + TRACE + "-" + SPAN + "-01", "  ").traceState()).isNull();
        assertThat(TraceContext.parse("00-" + TRACE + "-" + SPAN + "-01", null).traceState()).isNull();
    }

    @Test
    void idsAreHexOfTheGeneratorsLongsAndNeverAllZero() {
        AtomicLong n = new AtomicLong(-1); // yields 0, 0 first: an invalid trace id, so drawn again
        assertThat(TraceContext.newTraceId(() -> Math.max(0, n.incrementAndGet() - 1)))
                .isEqualTo("0000000000000001" + "0000000000000002");
        AtomicLong m = new AtomicLong(-1);
        assertThat(TraceContext.newSpanId(m::incrementAndGet)).isEqualTo("0000000000000001");
        assertThat(TraceContext.newSpanId(() -> -1L)).isEqualTo("ffffffffffffffff");
    }

    @Test
    void aContextCannotHoldInvalidIds() {
        assertThatThrownBy(() -> new TraceContext("0".repeat(32), SPAN, true, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TraceContext(TRACE, "abc", true, null))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
