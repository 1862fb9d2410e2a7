package dev.vllmrouter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.FileHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

import dev.vllmrouter.config.ConfigException;

/**
 * Console (and optional file) logging through java.util.logging, which Helidon and {@link System.Logger} use: one
 * line per record, {@code --log-level} as vllm-router names levels, {@code --log-dir} adds
 * {@code <dir>/vllm-router.log}.
 */
final class LogSetup {
    /** Held strongly: java.util.logging keeps loggers weakly, and a collected logger forgets its level. */
    private static final Logger HELIDON = Logger.getLogger("io.helidon");

    private LogSetup() {
    }

    static void configure(String level, Path logDir) {
        configure(level, logDir, false);
    }

    /** @param json one JSON object per line ({@code --log-format json}) instead of text */
    static void configure(String level, Path logDir, boolean json) {
        System.setProperty("java.util.logging.SimpleFormatter.format",
                "%1$tFT%1$tT.%1$tLZ %4$-7s %3$s: %5$s%6$s%n");
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        Level jul = switch (level.toLowerCase(Locale.ROOT)) {
            case "trace" -> Level.FINEST;
            case "debug" -> Level.FINE;
            case "warn", "warning" -> Level.WARNING;
            case "error", "critical" -> Level.SEVERE;
            case "off" -> Level.OFF;
            default -> Level.INFO;
        };
        root.setLevel(jul);
        Handler console = new ConsoleHandler();
        console.setLevel(jul);
        console.setFormatter(json ? new JsonLogFormatter() : new SimpleFormatter());
        root.addHandler(console);
        if (logDir != null) {
            try {
                Files.createDirectories(logDir);
                FileHandler file = new FileHandler(logDir.resolve("vllm-router.log").toString(), true);
                file.setLevel(jul);
                file.setFormatter(json ? new JsonLogFormatter() : new SimpleFormatter());
                root.addHandler(file);
            } catch (IOException e) {
                throw new ConfigException("--log-dir: cannot write logs to " + logDir + ": " + e.getMessage());
            }
        }
        // Helidon's own start-up chatter stays at INFO only when the user asked for debug
        if (jul.intValue() >= Level.INFO.intValue()) {
            HELIDON.setLevel(Level.WARNING);
        }
    }
}
