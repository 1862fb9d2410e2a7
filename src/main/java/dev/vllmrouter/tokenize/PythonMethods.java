package dev.vllmrouter.tokenize;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The Python methods that Hugging Face chat templates call on strings ({@code content.startswith('<tool_response>')},
 * {@code content.split('</think>')[-1].lstrip('\n')}, {@code message.content.strip()} ...), which Jinjava does not
 * have because its strings are Java strings; plus Python's negative indexes on strings and lists
 * ({@code parts[-1]}). Put in front of Jinjava's own resolver: it answers only those cases and leaves everything else
 * (maps, beans, Jinjava's Python-like lists and dicts) to it.
 * <p>
 * The semantics are Python's: {@code strip()} without argument strips Unicode whitespace, with one it strips any of
 * the given characters; {@code split()} without argument splits on runs of whitespace and drops empty pieces; with
 * a separator it keeps them. Stateless and thread-safe.
 */
final class PythonMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result = call(s, method.toString(), args);
        if (result != NO_SUCH_METHOD) {
            context.setPropertyResolved(true);
            return result;
        }
        return null;
    }

    private static final Object NO_SUCH_METHOD = new Object();

    static Object call(String s, String name, Object[] a) {
        return switch (name) {
            case "startswith" -> anyOf(a[0], p -> s.startsWith(p));
            case "endswith" -> anyOf(a[0], p -> s.endsWith(p));
            case "strip" -> rstrip(lstrip(s, chars(a)), chars(a));
            case "lstrip" -> lstrip(s, chars(a));
            case "rstrip" -> rstrip(s, chars(a));
            case "split" -> split(s, a.length > 0 ? (String) a[0] : null, a.length > 1 ? toInt(a[1]) : -1);
            case "rsplit" -> rsplit(s, a.length > 0 ? (String) a[0] : null, a.length > 1 ? toInt(a[1]) : -1);
            case "splitlines" -> List.of(s.split("\r\n|\r|\n", -1)).subList(0, lines(s));
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "replace" -> a.length > 2 ? replace(s, (String) a[0], (String) a[1], toInt(a[2]))
                    : s.replace((String) a[0], (String) a[1]);
            case "find" -> (long) s.indexOf((String) a[0]);
            case "rfind" -> (long) s.lastIndexOf((String) a[0]);
            case "count" -> (long) count(s, (String) a[0]);
            case "join" -> join(s, a[0]);
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(c -> isSpace((char) c));
            case "islower" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toLowerCase(Locale.ROOT));
            case "isupper" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toUpperCase(Locale.ROOT));
            default -> NO_SUCH_METHOD;
        };
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (property instanceof Number n && (n instanceof Long || n instanceof Integer)) {
            long i = n.longValue();
            if (base instanceof String s) {
                long at = i < 0 ? s.length() + i : i;
                context.setPropertyResolved(true);
                // Python raises IndexError; an empty (undefined-like) value keeps templates going as Jinja's do
                return at < 0 || at >= s.length() ? null : s.substring((int) at, (int) at + 1);
            }
            if (i < 0 && base instanceof List<?> list) {
                long at = list.size() + i;
                context.setPropertyResolved(true);
                return at < 0 ? null : list.get((int) at);
            }
        }
        return null;
    }

    private interface StringTest {
        boolean test(String s);
    }

    private static boolean anyOf(Object prefixes, StringTest test) {
        if (prefixes instanceof Collection<?> c) {
            for (Object p : c) {
                if (test.test(String.valueOf(p))) {
                    return true;
                }
            }
            return false;
        }
        return test.test(String.valueOf(prefixes));
    }

    private static String chars(Object[] a) {
        return a.length > 0 && a[0] != null ? a[0].toString() : null;
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    /** Python's {@code str.isspace()} for one character: what {@code strip()} and {@code split()} remove. */
    static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strippable(s.charAt(i), chars)) {
            i++;
        }
        return s.substring(i);
    }

    static String rstrip(String s, String chars) {
        int j = s.length();
        while (j > 0 && strippable(s.charAt(j - 1), chars)) {
            j--;
        }
        return s.substring(0, j);
    }

    static List<String> split(String s, String sep, int max) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (max >= 0 && out.size() == max) {
                    out.add(rstrip(s.substring(i), null));
                    break;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        int from = 0;
        while (max < 0 || out.size() < max) {
            int at = s.indexOf(sep, from);
            if (at < 0) {
                break;
            }
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    static List<String> rsplit(String s, String sep, int max) {
        if (sep == null || max < 0) {
            return split(s, sep, max);
        }
        List<String> out = new ArrayList<>();
        int end = s.length();
        while (out.size() < max) {
            int at = s.lastIndexOf(sep, end - sep.length());
            if (at < 0) {
                break;
            }
            out.addFirst(s.substring(at + sep.length(), end));
            end = at;
        }
        out.addFirst(s.substring(0, end));
        return out;
    }

    private static int lines(String s) {
        int n = s.split("\r\n|\r|\n", -1).length;
        return s.isEmpty() ? 0 : (s.endsWith("\n") || s.endsWith("\r") ? n - 1 : n);
    }

    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousCased = Character.isLetter(c);
        }
        return out.toString();
    }

    private static String replace(String s, String from, String to, int count) {
        if (count < 0) {
            return s.replace(from, to);
        }
        StringBuilder out = new StringBuilder();
        int start = 0;
        for (int n = 0; n < count; n++) {
            int at = s.indexOf(from, start);
            if (at < 0) {
                break;
            }
            out.append(s, start, at).append(to);
            start = at + from.length();
        }
        return out.append(s.substring(start)).toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static String join(String sep, Object items) {
        List<String> parts = new ArrayList<>();
        if (items instanceof Iterable<?> it) {
            it.forEach(o -> parts.add(String.valueOf(o)));
        }
        return String.join(sep, parts);
    }

    private static int toInt(Object o) {
        return o instanceof Number n ? n.intValue() : Integer.parseInt(o.toString());
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // read-only: templates only read requests
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
