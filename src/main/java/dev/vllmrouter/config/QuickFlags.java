package dev.vllmrouter.config;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The router's flags parsed without picocli, for the start-up path. picocli builds its model of the ~100 options with
 * cold code that the JVM's class-data archive cannot hold (picocli ships Java 5 class files, which an AOT cache leaves
 * out): about 0.35 s of a 1 s start. This fills the same fields of {@link RouterOptions} in a few milliseconds.
 *
 * <p>It takes only the command lines it parses exactly as picocli does and returns {@code null} for every other one:
 * {@code --help}, {@code --version}, a subcommand, a positional argument, a short option, an argument file
 * ({@code @file}), {@code --}, an unknown flag, a flag picocli would refuse or read differently (a single-value flag
 * or a list with a variable number of values given twice, a value that begins with {@code -} or holds a quote, a number
 * not in plain decimal, an empty value, {@code --flag=value} for an on/off flag). picocli then parses the whole
 * command line, errors and all. Values not on the command line come from the same {@link SettingsSource}
 * (environment, then file) and are converted as picocli converts them; on any doubt, {@code null} again.
 *
 * <p>Invariant: for every command line, environment and file it accepts, the fields it fills, the flags it reports as
 * given and the settings it records as supplied equal picocli's ({@code QuickFlagsTest} parses each case both ways).
 * It records nothing in the {@link SettingsSource} unless it accepts.
 */
public final class QuickFlags {
    /** The values and what the parse saw. */
    public record Parsed(RouterOptions options, GivenFlags flags) {
    }

    private enum Kind { ON_OFF, SINGLE, LIST, MAP }

    /** One flag: its field, names, how its values are read; {@code variadic}: arity {@code 0..*} or {@code 1..*}. */
    private record Flag(Field field, String[] names, String longest, Kind kind, boolean variadic) {
    }

    private static final Pattern INT = Pattern.compile("0|[1-9][0-9]{0,8}");
    private static final Pattern LONG = Pattern.compile("0|[1-9][0-9]{0,17}");
    private static final Pattern DECIMAL = Pattern.compile("(0|[1-9][0-9]{0,8})(\\.[0-9]{1,9})?");
    private static final Set<String> SUBCOMMANDS = Set.of("demo", "sim-worker");
    /** The second names of flags (vllm-router's). */
    private static final Map<String, String> ALIASES = Map.of("--backend", "--runtime",
            "--eviction-interval", "--eviction-interval-secs");
    /** List flags that take one value per occurrence (repeatable) instead of all the values that follow. */
    private static final Set<String> ONE_VALUE_EACH = Set.of("--tls-cipher-suites", "--prefill", "--decode");

    /** By every name; {@code null} when a field has a type this parser does not convert (then it never accepts). */
    private static final Map<String, Flag> FLAGS = table();

    private QuickFlags() {
    }

    /** The parse of {@code args}, or {@code null} when picocli must parse them. */
    public static Parsed parse(String[] args, SettingsSource settings) {
        // picocli reads --help and --version from the environment and the file too
        if (FLAGS == null || settings.lookup(new String[] {"--help"}, false) != null
                || settings.lookup(new String[] {"--version"}, false) != null) {
            return null;
        }
        RouterOptions options = new RouterOptions();
        Map<Flag, List<String>> given = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2) {
                return null;
            }
            int eq = arg.indexOf('=');
            Flag flag = FLAGS.get(eq < 0 ? arg : arg.substring(0, eq));
            if (flag == null) {
                return null;
            }
            List<String> values = given.get(flag);
            if (values != null && (flag.kind != Kind.LIST && flag.kind != Kind.MAP || flag.variadic)) {
                return null;
            }
            if (values == null) {
                values = new ArrayList<>();
                given.put(flag, values);
            }
            if (eq >= 0) {
                if (flag.kind == Kind.ON_OFF || !plain(arg.substring(eq + 1))) {
                    return null;
                }
                values.add(arg.substring(eq + 1));
                if (flag.variadic && i + 1 < args.length && !args[i + 1].startsWith("-")) {
                    return null;
                }
            } else if (flag.kind == Kind.ON_OFF) {
                values.add("true");
            } else if (!flag.variadic) {
                if (i + 1 >= args.length || !plain(args[i + 1])) {
                    return null;
                }
                values.add(args[++i]);
            } else {
                while (i + 1 < args.length && !args[i + 1].startsWith("-")) {
                    if (!plain(args[i + 1])) {
                        return null;
                    }
                    values.add(args[++i]);
                }
                if (values.isEmpty()) {
                    return null;
                }
            }
        }
        Set<String> supplied = new TreeSet<>();
        for (Flag flag : new HashSet<>(FLAGS.values())) {
            List<String> values = given.get(flag);
            if (values == null) {
                String value = settings.lookup(flag.names, flag.kind == Kind.LIST || flag.kind == Kind.MAP);
                if (value == null) {
                    continue;
                }
                supplied.add(flag.longest);
                if (!plain(value)) {
                    return null;
                }
                values = List.of(value);
            }
            if (!set(options, flag, values)) {
                return null;
            }
        }
        settings.markSupplied(supplied);
        Set<String> onCommandLine = new HashSet<>();
        given.keySet().forEach(f -> onCommandLine.addAll(List.of(f.names)));
        return new Parsed(options, new Given(onCommandLine));
    }

    /** A value picocli reads as it is: not empty, no quote (picocli's quoted-value rules), not an argument file. */
    private static boolean plain(String value) {
        return !value.isEmpty() && value.indexOf('"') < 0 && value.indexOf('\'') < 0 && !value.startsWith("@")
                && !value.startsWith("-") && !SUBCOMMANDS.contains(value);
    }

    /** Converts {@code values} as picocli does and sets the field; false when unsure. */
    private static boolean set(RouterOptions options, Flag flag, List<String> values) {
        Object converted = switch (flag.kind) {
            case ON_OFF -> onOff(values.getFirst());
            case SINGLE -> single(flag.field.getType(), values.getFirst());
            case LIST -> pieces(values);
            case MAP -> pairs(values);
        };
        if (converted == null) {
            return false;
        }
        try {
            flag.field.set(options, converted);
            return true;
        } catch (IllegalAccessException | IllegalArgumentException e) {
            return false;
        }
    }

    private static Boolean onOff(String value) {
        return value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false") ? Boolean.valueOf(
                value.equalsIgnoreCase("true")) : null;
    }

    private static Object single(Class<?> type, String value) {
        if (type == String.class) {
            return value;
        }
        if (type == Path.class) {
            try {
                return Path.of(value);
            } catch (InvalidPathException e) {
                return null;
            }
        }
        if (type == int.class || type == Integer.class) {
            return INT.matcher(value).matches() ? Integer.valueOf(value) : null;
        }
        if (type == long.class || type == Long.class) {
            return LONG.matcher(value).matches() ? Long.valueOf(value) : null;
        }
        if (type == double.class || type == Double.class) {
            return DECIMAL.matcher(value).matches() ? Double.valueOf(value) : null;
        }
        return null;
    }

    /** Every value split on {@code ,} (the split of every list flag); null when a piece would be empty. */
    private static List<String> pieces(List<String> values) {
        List<String> out = new ArrayList<>();
        for (String value : values) {
            if (value.startsWith(",") || value.endsWith(",") || value.contains(",,")) {
                return null;
            }
            Collections.addAll(out, value.split(","));
        }
        return out;
    }

    /** {@code k=v} pieces; null unless each piece has one {@code =} with a key before it. */
    private static Map<String, String> pairs(List<String> values) {
        List<String> pieces = pieces(values);
        if (pieces == null) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String piece : pieces) {
            int eq = piece.indexOf('=');
            if (eq <= 0 || piece.indexOf('=', eq + 1) >= 0 || out.containsKey(piece.substring(0, eq))) {
                return null;
            }
            out.put(piece.substring(0, eq), piece.substring(eq + 1));
        }
        return out;
    }

    /**
     * The flags, without reading their annotations (that alone costs a tenth of a second at start: each annotation
     * is parsed and wrapped in a proxy): every public field of {@link RouterOptions} is a flag named after the
     * field ({@code workerUrls} → {@code --worker-urls}), lists and maps take any number of values unless listed in
     * {@link #ONE_VALUE_EACH}, and {@link #ALIASES} holds the second names. {@code QuickFlagsTest} checks all of it
     * against the {@code @Option} annotations; {@code null} when a field has a type this parser does not convert.
     */
    private static Map<String, Flag> table() {
        Map<String, Flag> byName = new HashMap<>();
        for (Field field : RouterOptions.class.getFields()) {
            if (Modifier.isStatic(field.getModifiers())) {
                continue;
            }
            Kind kind;
            Class<?> type = field.getType();
            if (type == boolean.class) {
                kind = Kind.ON_OFF;
            } else if (List.class.isAssignableFrom(type)) {
                kind = Kind.LIST;
            } else if (Map.class.isAssignableFrom(type)) {
                kind = Kind.MAP;
            } else if (single(type, "0") != null) {
                kind = Kind.SINGLE;
            } else {
                return null;
            }
            String name = flagName(field.getName());
            String alias = ALIASES.get(name);
            String[] names = alias == null ? new String[] {name} : new String[] {name, alias};
            String longest = alias != null && alias.length() > name.length() ? alias : name;
            boolean variadic = (kind == Kind.LIST || kind == Kind.MAP) && !ONE_VALUE_EACH.contains(name);
            Flag flag = new Flag(field, names, longest, kind, variadic);
            for (String n : names) {
                byName.put(n, flag);
            }
        }
        return Map.copyOf(byName);
    }

    /** {@code --worker-urls} for the field {@code workerUrls}. */
    private static String flagName(String field) {
        StringBuilder b = new StringBuilder("--");
        for (char c : field.toCharArray()) {
            if (Character.isUpperCase(c)) {
                b.append('-').append(Character.toLowerCase(c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** How this parser sees each flag, by field name (for the test that holds it to the annotations). */
    public static Map<String, String> describe() {
        Map<String, String> out = new TreeMap<>();
        if (FLAGS != null) {
            for (Flag f : new HashSet<>(FLAGS.values())) {
                out.put(f.field.getName(), String.join(" ", f.names) + " " + f.kind + (f.variadic ? " variadic" : ""));
            }
        }
        return out;
    }

    private record Given(Set<String> onCommandLine) implements GivenFlags {
        @Override
        public String longestName(String name) {
            Flag flag = FLAGS.get(name);
            return flag == null ? null : flag.longest;
        }

        @Override
        public boolean onCommandLine(String name) {
            return onCommandLine.contains(name);
        }

        @Override
        public Set<String> keys() {
            Set<String> keys = new HashSet<>();
            FLAGS.keySet().forEach(n -> keys.add(n.substring(2)));
            return keys;
        }
    }
}
