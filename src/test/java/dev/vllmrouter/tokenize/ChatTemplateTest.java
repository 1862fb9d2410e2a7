package dev.vllmrouter.tokenize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The Jinja features Hugging Face chat templates use, as transformers renders them, on Jinjava plus our extras. */
class ChatTemplateTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-07T09:05:03Z"), ZoneOffset.UTC);

    private static String render(String template, Map<String, Object> vars) {
        return new ChatTemplate(template, CLOCK).render(vars);
    }

    private static String render(String template) {
        return render(template, Map.of());
    }

    @Test
    void jinjaSyntaxInsideAMessageIsTextNotTemplate() {
        // Jinja outputs a variable's value as it is; Jinjava's "nested interpretation" would render it again
        Map<String, Object> vars = Map.of("messages", List.of(Map.of("role", "user",
                "content", "Use {{ name }} and {% if x %}y{% endif %} in Handlebars: {{ 1 + 1 }}")));
        assertThat(render("{%- for m in messages %}{{ '<' + m.role + '>' + m.content }}{%- endfor %}", vars))
                .isEqualTo("<user>Use {{ name }} and {% if x %}y{% endif %} in Handlebars: {{ 1 + 1 }}");
        assertThat(render("{{ messages[0].content }}", vars))
                .isEqualTo("Use {{ name }} and {% if x %}y{% endif %} in Handlebars: {{ 1 + 1 }}");
    }

    @Test
    void pythonStringMethods() {
        Map<String, Object> vars = Map.of("s", "  <a>x</think>\ny  ");
        assertThat(render("{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxhixx'.strip('x') }}", vars))
                .isEqualTo("<a>x</think>\ny|<a>x</think>\ny  |  <a>x</think>\ny|hi");
        assertThat(render("{{ s.strip().startswith('<a>') }} {{ s.endswith('y') }} {{ s.startswith(('q', '  <')) }}",
                vars)).isEqualTo("true false true");
        assertThat(render("{{ s.split('</think>')[-1].lstrip('\\n') }}|{{ s.split('</think>')[0].split('<a>')[-1] }}",
                vars)).isEqualTo("y  |x");
        assertThat(render("{{ 'a  b\\tc'.split() | length }} {{ 'a,b,,c'.split(',') | length }}"
                + " {{ 'a,b,c'.split(',', 1)[1] }} {{ 'a,b,c'.rsplit(',', 1)[0] }}")).isEqualTo("3 4 b,c a,b");
        assertThat(render("{{ 'ab'.upper() }} {{ 'AB'.lower() }} {{ 'hello world'.title() }} {{ 'x-y-z'.replace('-', '+') }}"
                + " {{ ['a', 'b', 'c'][-1] }} {{ 'abc'.find('c') }} {{ ', '.join(['a', 'b']) }}"))
                .isEqualTo("AB ab Hello World x+y+z c 2 a, b");
    }

    @Test
    void stripAndTrimRemoveUnicodeSpacesAsPythonDoes() {
        assertThat(render("[{{ s | trim }}][{{ s.strip() }}]", Map.of("s", "\u3000\u00a0x\u2028\u0085")))
                .isEqualTo("[x][x]");
    }

    @Test
    void reverseSliceNamespaceAndLoopControls() {
        Map<String, Object> vars = Map.of("messages", List.of("a", "b", "c"));
        assertThat(render("{% for m in messages[::-1] %}{{ m }}{{ loop.index0 }}{% endfor %}", vars))
                .isEqualTo("c0b1a2");
        assertThat(render("{% set ns = namespace(i=messages|length - 1, found=false) %}"
                + "{% for m in messages %}{% if m == 'b' %}{% set ns.found = true %}{% set ns.i = loop.index0 %}"
                + "{% endif %}{% endfor %}{{ ns.i }} {{ ns.found }}", vars)).isEqualTo("1 true");
        assertThat(render("{% for m in messages %}{% if m == 'b' %}{% continue %}{% endif %}{{ m }}{% endfor %}|"
                + "{% for m in messages %}{% if m == 'b' %}{% break %}{% endif %}{{ m }}{% endfor %}", vars))
                .isEqualTo("ac|a");
    }

    @Test
    void whitespaceControlTrimAndLstripBlocksAsTransformers() {
        // {{- and -}} strip like {%- -%}; trim_blocks drops the newline after a block; one trailing newline goes
        assertThat(render("a\n    {{- 'b' -}}\n  c\n{% if true %}\n    d\n{% endif %}\ne\n")).isEqualTo("abc\n    d\ne");
        assertThat(render("x\n{#- a comment -#}\ny")).isEqualTo("xy");
    }

    @Test
    void tojsonIsPythonsJsonDumps() {
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("name", "f");
        tool.put("description", null);
        tool.put("params", List.of(1L, 0.5, 1.0, "é\"\n", true));
        assertThat(render("{{ t | tojson }}", Map.of("t", tool)))
                .isEqualTo("{\"name\": \"f\", \"description\": null, \"params\": [1, 0.5, 1.0, \"é\\\"\\n\", true]}");
        assertThat(render("{{ t | tojson(indent=2) }}", Map.of("t", Map.of("a", List.of(1L)))))
                .isEqualTo("{\n  \"a\": [\n    1\n  ]\n}");
    }

    @Test
    void raiseExceptionFailsTheRender() {
        assertThatThrownBy(() -> render("{% if messages|length == 0 %}{{ raise_exception('No messages!') }}{% endif %}",
                Map.of("messages", List.of())))
                .isInstanceOf(TemplateException.class).hasMessageContaining("No messages!");
    }

    @Test
    void anUnknownMethodFailsTheRenderInsteadOfPrintingNothing() {
        assertThatThrownBy(() -> render("{{ 'x'.no_such_method() }}")).isInstanceOf(TemplateException.class);
    }

    @Test
    void aTemplateThatDoesNotParseFailsAtLoad() {
        assertThatThrownBy(() -> new ChatTemplate("{% for x in %}", CLOCK)).isInstanceOf(TemplateException.class);
    }

    @Test
    void strftimeNowReadsTheInjectedClock() {
        assertThat(render("{{ strftime_now('%d %b %Y') }} {{ strftime_now('%Y-%m-%d %H:%M:%S %A %B') }}"))
                .isEqualTo("07 Dec 2026 2026-12-07 09:05:03 Monday December");
    }

    @Test
    void generationBlockRendersItsBody() {
        assertThat(render("{% generation %}{{ 'x' }}y{% endgeneration %}z")).isEqualTo("xyz");
    }

    @Test
    void undefinedAndNoneAreFalsyAndTestable() {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("content", "c");
        message.put("tool_calls", List.of());
        assertThat(render("{{ m.reasoning_content is defined }}|{% if m.tool_calls %}T{% else %}F{% endif %}"
                + "|{{ m.content is string }}|{{ tools is none }}", Map.of("m", message)))
                .isEqualTo("false|F|true|true");
    }
}
