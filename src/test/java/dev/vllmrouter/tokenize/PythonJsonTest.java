package dev.vllmrouter.tokenize;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** Python's json.dumps(ensure_ascii=False), byte for byte: the expected strings are what CPython 3.12 prints. */
class PythonJsonTest {

    @Test
    void floatsAsPythonRepr() {
        assertThat(PythonJson.floatRepr(1.0)).isEqualTo("1.0");
        assertThat(PythonJson.floatRepr(0.1)).isEqualTo("0.1");
        assertThat(PythonJson.floatRepr(-2.5)).isEqualTo("-2.5");
        assertThat(PythonJson.floatRepr(1e-5)).isEqualTo("1e-05");
        assertThat(PythonJson.floatRepr(0.0001)).isEqualTo("0.0001");
        assertThat(PythonJson.floatRepr(1.5e-7)).isEqualTo("1.5e-07");
        assertThat(PythonJson.floatRepr(1e16)).isEqualTo("1e+16");
        assertThat(PythonJson.floatRepr(1234567890123456.0)).isEqualTo("1234567890123456.0");
        assertThat(PythonJson.floatRepr(12345678.9)).isEqualTo("12345678.9");
        assertThat(PythonJson.floatRepr(1.7976931348623157e308)).isEqualTo("1.7976931348623157e+308");
        assertThat(PythonJson.floatRepr(100.0)).isEqualTo("100.0");
        assertThat(PythonJson.floatRepr(-0.0)).isEqualTo("-0.0");
    }

    @Test
    void separatorsAndIndent() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("b", List.of(1L, "x"));
        m.put("a", Map.of());
        m.put("c", List.of());
        assertThat(PythonJson.dumps(m, null, false)).isEqualTo("{\"b\": [1, \"x\"], \"a\": {}, \"c\": []}");
        assertThat(PythonJson.dumps(m, null, true)).isEqualTo("{\"a\": {}, \"b\": [1, \"x\"], \"c\": []}");
        assertThat(PythonJson.dumps(m, 4, false))
                .isEqualTo("{\n    \"b\": [\n        1,\n        \"x\"\n    ],\n    \"a\": {},\n    \"c\": []\n}");
    }

    @Test
    void stringsKeepNonAsciiAndEscapeControls() {
        assertThat(PythonJson.dumps("é 中 😀 \u2028 / \" \\ \n\r\t\b\f \u0001 \u007f", null, false))
                .isEqualTo("\"é 中 😀 \u2028 / \\\" \\\\ \\n\\r\\t\\b\\f \\u0001 \u007f\"");
    }

    @Test
    void numbersBeyondLong() {
        assertThat(PythonJson.dumps(List.of(new BigInteger("123456789012345678901234567890"), Long.MIN_VALUE, true,
                false), null, false)).isEqualTo("[123456789012345678901234567890, -9223372036854775808, true, false]");
    }
}
