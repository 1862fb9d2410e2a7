package dev.vllmrouter;

import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;

import dev.vllmrouter.config.ConfigException;
import dev.vllmrouter.config.PrefillArgs;
import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.config.SettingsSource;

import picocli.CommandLine;

/**
 * Entry point: {@code java -jar vllm-router.jar [flags]} runs the router; {@code demo} runs it in front of simulated
 * workers; {@code sim-worker} runs one simulated vLLM worker. Exit status 2 for a configuration error.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.manager") == null) {
            // before anything logs: keep logging alive while the router drains at shutdown
            System.setProperty("java.util.logging.manager", ShutdownLogManager.class.getName());
        }
        System.exit(run(args));
    }

    /** Parses {@code args} and runs the chosen command; returns the exit status. */
    static int run(String[] rawArgs) {
        SettingsSource settings;
        String[] args;
        try {
            args = PrefillArgs.normalize(rawArgs);
            settings = SettingsSource.create(System.getenv(), RouterCli.configFile(args, System.getenv()));
        } catch (ConfigException e) {
            System.err.println("vllm-router: error: " + e.getMessage());
            return 2;
        }
        CommandLine cmd = commandLine(settings);
        return cmd.execute(args);
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
            if (ex instanceof ConfigException) {
                commandLine.getErr().println("vllm-router: error: " + ex.getMessage());
                return 2;
            }
            if (ex instanceof IllegalStateException) {
                // a start-up step that could not complete (e.g. a Mooncake bootstrap server that never answered)
                commandLine.getErr().println("vllm-router: error: " + ex.getMessage());
                return 1;
            }
            throw ex;
        });
        return cmd;
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
