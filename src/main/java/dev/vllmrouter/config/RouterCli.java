package dev.vllmrouter.config;

import java.nio.file.Path;
import java.util.Map;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * Parses router flags into a {@link RouterConfig} exactly as the {@code vllm-router} command does (same options,
 * environment and file precedence, same validation), without running anything: for tests and embedding.
 */
public final class RouterCli {
    private RouterCli() {
    }

    @Command(name = "vllm-router")
    static final class Holder {
        @Mixin
        RouterOptions options;
    }

    /**
     * @param env  environment variables to read {@code VLLM_ROUTER_*} settings from
     * @param args command-line flags (may include {@code --config FILE})
     * @throws ConfigException for any invalid flag or value
     */
    public static RouterConfig parse(Map<String, String> env, String... rawArgs) {
        return parseWithWarnings(env, rawArgs).config();
    }

    /** A parsed configuration and the start-up warnings about flags that change nothing here. */
    public record Parsed(RouterConfig config, java.util.List<String> warnings) {
    }

    /** As {@link #parse}, also returning the warnings the router logs at start ({@link AcceptedFlags}). */
    public static Parsed parseWithWarnings(Map<String, String> env, String... rawArgs) {
        String[] args = PrefillArgs.normalize(rawArgs);
        SettingsSource settings = SettingsSource.create(env, configFile(args, env), args);
        // as the vllm-router command: the quick parser when it takes the command line, else picocli
        QuickFlags.Parsed quick = QuickFlags.parse(args, settings);
        RouterOptions options;
        GivenFlags flags;
        if (quick != null) {
            options = quick.options();
            flags = quick.flags();
        } else {
            Holder holder = new Holder();
            CommandLine cmd = new CommandLine(holder);
            cmd.setUnmatchedOptionsAllowedAsOptionParameters(false);
            cmd.getCommandSpec().defaultValueProvider(settings);
            try {
                flags = GivenFlags.of(cmd.parseArgs(args));
            } catch (CommandLine.ParameterException e) {
                throw new ConfigException(settings.describe(e));
            }
            options = holder.options;
        }
        settings.validateKeys(flags.keys());
        RouterConfig config = RouterConfig.from(options, flags, settings);
        return new Parsed(config, AcceptedFlags.warnings(options, flags, settings));
    }

    /**
     * {@code --config FILE} or {@code --config=FILE}, else {@code VLLM_ROUTER_CONFIG}; read before picocli parses
     * (the file supplies defaults).
     */
    public static Path configFile(String[] args, Map<String, String> env) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config")) {
                if (i + 1 >= args.length) {
                    throw new ConfigException("--config: missing file name");
                }
                return Path.of(args[i + 1]);
            }
            if (args[i].startsWith("--config=")) {
                return Path.of(args[i].substring("--config=".length()));
            }
        }
        String fromEnv = env.get(SettingsSource.ENV_PREFIX + "CONFIG");
        return fromEnv == null || fromEnv.isBlank() ? null : Path.of(fromEnv.trim());
    }
}
