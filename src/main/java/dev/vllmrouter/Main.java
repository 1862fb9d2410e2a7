package dev.vllmrouter;

import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;

import dev.vllmrouter.config.ConfigException;
import dev.vllmrouter.config.PrefillArgs;
import dev.vllmrouter.config.QuickFlags;
import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.config.SettingsSource;

import picocli.CommandLine;

/**
 * Entry point: {@code java -jar vllm-router.jar [flags]} runs the router; {@code demo} runs it in front of simulated
 * workers; {@code sim-worker} runs one simulated vLLM worker. Exit status 2 for a configuration error.
 */
public final class Main {
    /** Started by {@link #main}; awaited by each command before it builds the router (null when not started). */
    private static volatile StartupWarmup warmup;

    private Main() {
    }

    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.manager") == null) {
            // before anything logs: keep logging alive while the router drains at shutdown
            System.setProperty("java.util.logging.manager", ShutdownLogManager.class.getName());
        }
        warmup = StartupWarmup.begin();
        System.exit(run(args));
    }

    /** Parses {@code args} and runs the chosen command; returns the exit status. */
    static int run(String[] rawArgs) {
        SettingsSource settings;
        String[] args;
        try {
            args = PrefillArgs.normalize(rawArgs);
            java.nio.file.Path configFile = RouterCli.configFile(args, System.getenv());
            if (configFile != null) {
                awaitWarmup(); // the file is read with Helidon's config: not while the warm-up runs Helidon
            }
            settings = SettingsSource.create(System.getenv(), configFile, args);
        } catch (ConfigException e) {
            System.err.println("vllm-router: error: " + e.getMessage());
            return 2;
        }
        // the usual command line skips picocli's model of the flags (a third of a start); anything else goes to it
        QuickFlags.Parsed quick = QuickFlags.parse(args, settings);
        if (quick != null) {
            try {
                return new RouterCommand(settings).run(quick.options(), quick.flags());
            } catch (RuntimeException e) {
                return exitStatus(e, new PrintWriter(System.err, true));
            }
        }
        CommandLine cmd = commandLine(settings);
        return cmd.execute(args);
    }

    /** The exit status of a command that threw {@code e} (after saying why on {@code err}); rethrows the unexpected. */
    private static int exitStatus(RuntimeException e, PrintWriter err) {
        if (e instanceof ConfigException) {
            err.println("vllm-router: error: " + e.getMessage());
            return 2;
        }
        if (e instanceof IllegalStateException) {
            // a start-up step that could not complete (e.g. a Mooncake bootstrap server that never answered)
            err.println("vllm-router: error: " + e.getMessage());
            return 1;
        }
        throw e;
    }

    static CommandLine commandLine(SettingsSource settings) {
        CommandLine cmd = new CommandLine(new RouterCommand(settings));
        // an unknown flag after a list flag (`--worker-urls http://a --bogus`) is named as unknown, not taken as a URL
        cmd.setUnmatchedOptionsAllowedAsOptionParameters(false);
        // only the router's own commands read VLLM_ROUTER_* and --config (not sim-worker)
        cmd.getCommandSpec().defaultValueProvider(settings);
        cmd.getSubcommands().get("demo").getCommandSpec().defaultValueProvider(settings);
        cmd.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("vllm-router: error: " + settings.describe(ex));
            err.println("See '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return 2;
        });
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof RuntimeException e) {
                return exitStatus(e, commandLine.getErr());
            }
            throw ex;
        });
        return cmd;
    }

    /** Waits for the start-up warm-up, if one runs ({@link StartupWarmup}'s invariant). */
    public static void awaitWarmup() {
        StartupWarmup w = warmup;
        if (w != null) {
            w.await();
        }
    }

    /** The project version, from the build. */
    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
