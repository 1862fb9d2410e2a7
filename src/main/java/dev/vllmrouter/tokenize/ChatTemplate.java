package dev.vllmrouter.tokenize;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;

import jinjava.javax.el.CompositeELResolver;

import com.hubspot.jinjava.el.JinjavaInterpreterResolver;

/**
 * One Hugging Face chat template, rendered as {@code transformers} renders it: Jinja with {@code trim_blocks} and
 * {@code lstrip_blocks}, one trailing newline of the source dropped ({@code keep_trailing_newline=False}), and the
 * extras {@code transformers} adds to its environment: {@code raise_exception(msg)}, {@code strftime_now(fmt)},
 * the {@code tojson} filter of Python's {@code json.dumps} ({@link PythonJson}) and the {@code {% generation %}}
 * block (rendered as its body). The engine is Jinjava; what Hugging Face templates use beyond it is added here:
 * Python string methods and negative indexes ({@link PythonMethods}), and {@code seq[::-1]}, rewritten to
 * {@code seq|reverse} before parsing, whitespace control on expressions and comments ({@code {{- x -}}}), which
 * Jinjava ignores, applied to the source, and {@code namespace(...)} arguments parenthesised.
 * <p>
 * Known differences from Jinja left: Jinjava's {@code lstrip_blocks} also strips spaces before a block tag that
 * does not start its line ({@code x {% if %}}), and a negative index on a string literal gives nothing. Neither
 * occurs in the templates of the golden test (Qwen3, Llama 3.1); a template that relies on them renders differently.
 * <p>
 * Values are output as they are (Jinjava's "nested interpretation", which renders a value containing {@code {{}
 * again, is off: a message's text is never a template).
 * <p>
 * A template that raises, or that Jinjava cannot evaluate, fails the render with {@link TemplateException}: the
 * caller must not route on a prompt the worker would not build. Thread-safe: the Jinjava instance is shared and
 * each render gets its own interpreter; the source is parsed once.
 */
public final class ChatTemplate {
    private static final Pattern REVERSE_SLICE = Pattern.compile("\\[\\s*:\\s*:\\s*-1\\s*]");
    private static final Pattern LEFT_STRIP = Pattern.compile("\\s*(\\{[{#])-");
    private static final Pattern RIGHT_STRIP = Pattern.compile("-([}#]})\\s*");
    private static final String CLOCK_KEY = "__vllm_router_clock__";

    private final String source;
    private final Jinjava jinjava;
    private final Clock clock;

    /**
     * @param source the template text (tokenizer_config.json's {@code chat_template}, or chat_template.jinja)
     * @param clock  the wall clock {@code strftime_now} reads
     */
    public ChatTemplate(String source, Clock clock) {
        this.source = prepare(source);
        this.clock = clock;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withFailOnUnknownTokens(false)
                .withMaxOutputSize(0)
                // Jinjava would otherwise render again any value containing "{{" or "{%" (a message about
                // templates, or an injection); Jinja outputs values as they are
                .withNestedInterpretationEnabled(false)
                .build());
        var global = jinjava.getGlobalContext();
        global.registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
        global.registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class,
                "strftimeNow", String.class));
        global.registerFilter(new ToJson());
        global.registerFilter(new Trim());
        global.registerTag(new GenerationTag());
        // parsed now, so that a template Jinjava cannot read fails the start, not the first request
        JinjavaInterpreter interpreter = new JinjavaInterpreter(jinjava, jinjava.getGlobalContext(),
                jinjava.getGlobalConfig());
        this.root = interpreter.parse(this.source);
        if (!interpreter.getErrorsCopy().isEmpty()) {
            throw new TemplateException("chat template does not parse: " + describe(interpreter.getErrorsCopy()));
        }
    }

    /** The parsed template, shared by every render (rendering reads the tree, it does not change it). */
    private final Node root;

    static String prepare(String source) {
        String s = source.replace("\r\n", "\n");
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - 1);
        }
        // Jinjava honours {%- -%} but not {{- -}} nor {#- -#}: strip the whitespace around those here
        s = LEFT_STRIP.matcher(s).replaceAll("$1");
        s = RIGHT_STRIP.matcher(s).replaceAll("$1");
        s = REVERSE_SLICE.matcher(s).replaceAll("|reverse");
        return parenthesiseNamespaceArguments(s);
    }

    /**
     * {@code namespace(i=messages|length - 1)}: Jinjava binds the filter to the whole {@code i=messages} named
     * parameter, Jinja to the value; each value of a {@code namespace(...)} call gets parentheses.
     */
    static String parenthesiseNamespaceArguments(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        int from = 0;
        for (int at = s.indexOf("namespace(", from); at >= 0; at = s.indexOf("namespace(", from)) {
            int open = at + "namespace(".length();
            out.append(s, from, open);
            int close = matching(s, open - 1);
            if (close < 0) {
                from = open;
                continue;
            }
            List<String> args = splitTopLevel(s.substring(open, close));
            for (int i = 0; i < args.size(); i++) {
                String arg = args.get(i);
                int eq = namedParameter(arg);
                out.append(i == 0 ? "" : ",");
                out.append(eq < 0 ? arg : arg.substring(0, eq + 1) + "(" + arg.substring(eq + 1) + ")");
            }
            out.append(')');
            from = close + 1;
        }
        return out.append(s.substring(from)).toString();
    }

    private static int matching(String s, int open) {
        int depth = 0;
        char quote = 0;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (--depth == 0) {
                    return i;
                }
            }
        }
        return -1;
    }

    private static List<String> splitTopLevel(String args) {
        List<String> parts = new java.util.ArrayList<>();
        int depth = 0;
        char quote = 0;
        int start = 0;
        for (int i = 0; i < args.length(); i++) {
            char c = args.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(args.substring(start, i));
                start = i + 1;
            }
        }
        if (start < args.length() || !parts.isEmpty()) {
            parts.add(args.substring(start));
        }
        return parts;
    }

    /** The index of the {@code =} of {@code name=value}, or -1 ({@code ==} is a comparison, not a name). */
    private static int namedParameter(String arg) {
        Matcher m = NAMED.matcher(arg);
        return m.lookingAt() ? m.end() - 1 : -1;
    }

    private static final Pattern NAMED = Pattern.compile("\\s*[A-Za-z_][A-Za-z0-9_]*\\s*=(?!=)");

    /** Renders the template with these variables (messages, tools, add_generation_prompt, special tokens ...). */
    public String render(Map<String, Object> variables) {
        Map<String, Object> bindings = new HashMap<>(variables);
        bindings.put(CLOCK_KEY, clock);
        Context context = new Context(jinjava.getGlobalContext(), bindings, jinjava.getGlobalConfig().getDisabled());
        JinjavaInterpreter interpreter = new JinjavaInterpreter(jinjava, context, jinjava.getGlobalConfig());
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            String output = interpreter.render(root);
            check(interpreter.getErrorsCopy(), "chat template failed");
            return output;
        } finally {
            JinjavaInterpreter.popCurrent();
        }
    }

    private static void check(List<TemplateError> errors, String what) {
        List<TemplateError> fatal = errors.stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .toList();
        if (!fatal.isEmpty()) {
            throw new TemplateException(what + ": " + describe(fatal));
        }
    }

    private static String describe(List<TemplateError> errors) {
        return errors.stream()
                .map(e -> {
                    String message = e.getMessage();
                    Throwable cause = e.getException();
                    while (cause != null) {
                        if (cause instanceof TemplateException te) {
                            return te.getMessage();
                        }
                        cause = cause.getCause();
                    }
                    return message + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : "");
                })
                .distinct()
                .collect(Collectors.joining("; "));
    }

    /** The source as rendered (after the rewrites), for tests. */
    String source() {
        return source;
    }

    // ---- Hugging Face's additions to the Jinja environment

    /** {@code raise_exception(message)}: the template refuses the conversation. */
    public static Object raiseException(String message) {
        throw new TemplateException("chat template raised: " + message);
    }

    /** {@code strftime_now(format)}: the current local time formatted by Python's {@code strftime}. */
    public static String strftimeNow(String format) {
        Object clock = JinjavaInterpreter.getCurrentMaybe()
                .map(i -> i.getContext().get(CLOCK_KEY))
                .orElse(null);
        Clock c = clock instanceof Clock given ? given : Clock.systemDefaultZone();
        return Strftime.format(format, ZonedDateTime.now(c));
    }

    /** {@code x | tojson(indent=None, sort_keys=False)} as Python's {@code json.dumps(..., ensure_ascii=False)}. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            Object sortKeys = kwargs.get("sort_keys");
            Integer spaces = indent instanceof Number n ? Integer.valueOf(n.intValue())
                    : indent instanceof String s && !s.isBlank() ? Integer.valueOf(s.trim()) : null;
            return PythonJson.dumps(var, spaces, Boolean.TRUE.equals(sortKeys) || "true".equals(sortKeys));
        }
    }

    /** {@code x | trim}: Python's {@code str.strip()}, which strips Unicode spaces Java's {@code trim()} keeps. */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return "";
            }
            String chars = args.length > 0 ? args[0] : null;
            return PythonMethods.rstrip(PythonMethods.lstrip(var.toString(), chars), chars);
        }
    }

    /** {@code {% generation %}...{% endgeneration %}} (transformers' assistant-mask extension): just its body. */
    static final class GenerationTag implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder out = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                out.append(child.render(interpreter).getValue());
            }
            return out.toString();
        }
    }

    /** Python's {@code time.strftime} directives that dates in chat templates use. */
    static final class Strftime {
        private Strftime() {
        }

        static String format(String format, ZonedDateTime t) {
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < format.length(); i++) {
                char c = format.charAt(i);
                if (c != '%' || i + 1 >= format.length()) {
                    out.append(c);
                    continue;
                }
                char d = format.charAt(++i);
                switch (d) {
                    case 'd' -> out.append(String.format("%02d", t.getDayOfMonth()));
                    case 'e' -> out.append(String.format("%2d", t.getDayOfMonth()));
                    case 'm' -> out.append(String.format("%02d", t.getMonthValue()));
                    case 'Y' -> out.append(t.getYear());
                    case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
                    case 'H' -> out.append(String.format("%02d", t.getHour()));
                    case 'I' -> out.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                    case 'M' -> out.append(String.format("%02d", t.getMinute()));
                    case 'S' -> out.append(String.format("%02d", t.getSecond()));
                    case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                    case 'j' -> out.append(String.format("%03d", t.getDayOfYear()));
                    case 'b', 'h' -> out.append(t.getMonth().getDisplayName(java.time.format.TextStyle.SHORT,
                            Locale.ENGLISH));
                    case 'B' -> out.append(t.getMonth().getDisplayName(java.time.format.TextStyle.FULL,
                            Locale.ENGLISH));
                    case 'a' -> out.append(t.getDayOfWeek().getDisplayName(java.time.format.TextStyle.SHORT,
                            Locale.ENGLISH));
                    case 'A' -> out.append(t.getDayOfWeek().getDisplayName(java.time.format.TextStyle.FULL,
                            Locale.ENGLISH));
                    case '%' -> out.append('%');
                    default -> out.append('%').append(d);
                }
            }
            return out.toString();
        }
    }
}
