package dev.vllmrouter.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * vllm-router's flags whose value changes nothing in this router: a command line written for the Rust binary (or its
 * Python launcher) must start this router too. Each is accepted with a warning; a value that would change behaviour
 * this router does not have is refused with "not supported yet".
 * <ul>
 *   <li>{@code --backend/--runtime}: {@code vllm}; {@code trtllm} and {@code anthropic} route as vllm with a warning,
 *       which is what vllm-router itself does; {@code openai} (a different routing mode) is refused.</li>
 *   <li>{@code --history-backend memory|none} (IGW only), {@code --model-path} and
 *       {@code --mini-lb}: {@link RouterOptions#ACCEPTED_WITHOUT_EFFECT}.</li>
 * </ul>
 */
public final class AcceptedFlags {
    private static final Set<String> BACKENDS = Set.of("vllm", "trtllm", "anthropic", "openai");
    private static final Set<String> BACKENDS_ROUTED_AS_VLLM = Set.of("trtllm", "anthropic");

    private AcceptedFlags() {
    }

    /** Refuses the values vllm-router refuses, and the ones that would change behaviour this router lacks. */
    static void validate(RouterOptions o) {
        String backend = o.backend.trim().toLowerCase(Locale.ROOT);
        if (!BACKENDS.contains(backend)) {
            throw new ConfigException("--backend: '" + o.backend + "' (expected one of vllm, trtllm, openai, "
                    + "anthropic)");
        }
        if (backend.equals("openai")) {
            throw new ConfigException("not supported yet: --backend openai (only vllm workers)");
        }
        String history = o.historyBackend.trim().toLowerCase(Locale.ROOT);
        if (!history.equals("memory") && !history.equals("none")) {
            throw new ConfigException("--history-backend: '" + o.historyBackend + "' (expected memory or none)");
        }
    }

    /**
     * The warnings to log at start for the flags given (command line, environment or file) that change nothing
     * here, in flag order.
     */
    public static List<String> warnings(RouterOptions o, GivenFlags parsed, SettingsSource settings) {
        List<String> warnings = new ArrayList<>();
        String backend = o.backend.trim().toLowerCase(Locale.ROOT);
        if (BACKENDS_ROUTED_AS_VLLM.contains(backend)) {
            warnings.add("--backend " + backend + ": not implemented (as in vllm-router); routing as vllm");
        }
        for (Map.Entry<String, String> e : new java.util.TreeMap<>(RouterOptions.ACCEPTED_WITHOUT_EFFECT).entrySet()) {
            String longest = parsed.longestName(e.getKey());
            if (longest != null && (parsed.onCommandLine(e.getKey()) || settings.supplied().contains(longest))) {
                warnings.add(e.getKey() + " is accepted but has no effect: " + e.getValue());
            }
        }
        return warnings;
    }
}
