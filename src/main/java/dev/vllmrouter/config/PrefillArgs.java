package dev.vllmrouter.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * vllm-router's pre-parse of {@code --prefill URL [BOOTSTRAP_PORT|none]} (its clap parser cannot express an optional
 * second value): after the URL, a token that is a port number becomes the bootstrap port, {@code none} (any case)
 * means no port, anything else is left for the next flag. Each occurrence is rewritten to one
 * {@code --prefill=URL[ PORT]} argument, which the option parser then takes as a single value.
 */
public final class PrefillArgs {
    private PrefillArgs() {
    }

    public static String[] normalize(String[] args) {
        List<String> out = new ArrayList<>(args.length);
        for (int i = 0; i < args.length; i++) {
            if (!args[i].equals("--prefill")) {
                out.add(args[i]);
                continue;
            }
            if (i + 1 >= args.length || args[i + 1].startsWith("-")) {
                throw new ConfigException("--prefill: missing URL (expected --prefill URL [BOOTSTRAP_PORT|none])");
            }
            String url = args[++i];
            String value = url;
            if (i + 1 < args.length) {
                String next = args[i + 1];
                if (next.toLowerCase(Locale.ROOT).equals("none")) {
                    i++;
                } else if (isPort(next)) {
                    value = url + " " + next;
                    i++;
                }
            }
            out.add("--prefill=" + value);
        }
        return out.toArray(String[]::new);
    }

    /**
     * Parses one {@code --prefill} value: {@code URL}, {@code URL PORT} or {@code URL none}.
     *
     * @throws ConfigException naming the flag
     */
    public static PdConfig.Prefill parse(String value) {
        String[] parts = value.trim().split("\\s+");
        if (parts.length == 0 || parts[0].isEmpty() || parts.length > 2) {
            throw new ConfigException("--prefill: '" + value + "' (expected URL [BOOTSTRAP_PORT|none])");
        }
        int port = -1;
        if (parts.length == 2 && !parts[1].equalsIgnoreCase("none")) {
            if (!isPort(parts[1])) {
                throw new ConfigException("--prefill: bootstrap port '" + parts[1] + "' (expected 1..65535 or none)");
            }
            port = Integer.parseInt(parts[1]);
        }
        try {
            return new PdConfig.Prefill(dev.vllmrouter.common.WorkerUrl.parse(parts[0]), port);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("--prefill: " + e.getMessage());
        }
    }

    private static boolean isPort(String s) {
        if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(Character::isDigit)) {
            return false;
        }
        int p = Integer.parseInt(s);
        return p >= 1 && p <= 65535;
    }
}
