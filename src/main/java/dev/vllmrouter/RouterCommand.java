package dev.vllmrouter;

import java.lang.System.Logger.Level;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import dev.vllmrouter.config.AcceptedFlags;
import dev.vllmrouter.config.GivenFlags;
import dev.vllmrouter.config.RouterConfig;
import dev.vllmrouter.config.RouterOptions;
import dev.vllmrouter.config.SettingsSource;
import dev.vllmrouter.server.RouterServer;
import dev.vllmrouter.sim.SimWorkerCommand;

import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code vllm-router [flags]}: validates the flags, waits for a worker as vllm-router does, serves until stopped. */
@Command(name = "vllm-router", mixinStandardHelpOptions = true, abbreviateSynopsis = true,
        versionProvider = RouterCommand.Version.class, showDefaultValues = true, sortOptions = false, usageHelpWidth = 120,
        description = "A high-performance request router for vLLM fleets (drop-in for vllm-project/router).%n"
                + "Settings: command line > environment (VLLM_ROUTER_<FLAG>) > --config file > defaults.",
        subcommands = {DemoCommand.class, SimWorkerCommand.class})
final class RouterCommand implements Callable<Integer> {
    private static final System.Logger LOG = System.getLogger(RouterCommand.class.getName());

    @Mixin
    RouterOptions options;

    @Spec
    CommandSpec spec;

    private final SettingsSource settings;

    RouterCommand(SettingsSource settings) {
        this.settings = settings;
    }

    @Override
    public Integer call() {
        return run(options, GivenFlags.of(spec.commandLine().getParseResult()));
    }

    /** {@link #call} for flags parsed elsewhere ({@link dev.vllmrouter.config.QuickFlags}). */
    int run(RouterOptions options, GivenFlags flags) {
        // up to the wait for a worker: only this project's code and the JDK's, while Helidon warms up on another
        // thread (StartupWarmup's invariant), but for the PEM files, which Helidon's key reader reads
        settings.validateKeys(flags.keys());
        RouterConfig config = RouterConfig.from(options, flags, settings);
        LogSetup.configure(config.logLevel(), config.logDir(), config.logJson());
        logEnvironment(settings, flags);
        AcceptedFlags.warnings(options, flags, settings)
                .forEach(w -> LOG.log(Level.WARNING, w));
        logAuth(config);
        RouterServer.checkAddresses(config);
        if (config.tlsCertPath() != null || config.workerTls() != null && config.workerTls().configured()) {
            Main.awaitWarmup();
        }
        RouterServer.checkTls(config);
        if (config.workers().isEmpty() && !config.isPd() && config.kubernetes() == null) {
            LOG.log(Level.WARNING, "no --worker-urls given: add workers with POST /add_worker?url=... "
                    + "(or try 'vllm-router demo' for simulated workers)");
        } else if (!config.workers().isEmpty() || (config.isPd() && !config.pd().prefill().isEmpty())) {
            LOG.log(Level.INFO, "waiting for a worker to answer /health (up to {0}s)",
                    config.workerStartupTimeout().toSeconds());
            if (!RouterApp.awaitWorkers(config)) {
                LOG.log(Level.WARNING, "no worker became healthy within {0}s; starting anyway",
                        config.workerStartupTimeout().toSeconds());
            }
        }
        Main.awaitWarmup();
        RouterApp app = RouterApp.start(config);
        serveUntilStopped(app::shutdown);
        return 0;
    }

    /** Says which routes need which key, and warns about set-ups that look protected but are not. */
    static void logAuth(RouterConfig config) {
        for (dev.vllmrouter.auth.AuthSummary.Line line : dev.vllmrouter.auth.AuthSummary.of(config.auth(),
                config.host())) {
            LOG.log(line.warning() ? Level.WARNING : Level.INFO, "auth: " + line.text());
        }
    }

    /** Says which {@code VLLM_ROUTER_*} variables were not taken as settings, and why. */
    static void logEnvironment(SettingsSource settings, GivenFlags flags) {
        if (!settings.serviceLinks().isEmpty()) {
            LOG.log(Level.INFO, "ignoring Kubernetes service-link variables (not settings): {0}",
                    String.join(", ", settings.serviceLinks()));
        }
        for (String name : settings.unknownVariables(flags.keys())) {
            LOG.log(Level.WARNING, "ignoring environment variable {0}: no such setting (settings are "
                    + "VLLM_ROUTER_<FLAG>, e.g. VLLM_ROUTER_WORKER_URLS for --worker-urls)", name);
        }
    }

    /**
     * Blocks until SIGTERM or SIGINT (Ctrl-C), then runs {@code stop} (draining first) on this thread and returns, so
     * that the process exits with status 0 after a clean drain, as vllm-router does (a JVM that stops through its
     * shutdown hooks exits 143). A second signal during the drain ends the process at once. Any other way the JVM
     * stops (SIGHUP, {@code System.exit} elsewhere) still runs {@code stop}, from a shutdown hook.
     */
    static void serveUntilStopped(AutoCloseable app) {
        CountDownLatch stopRequested = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable stop = () -> {
            if (!stopping.compareAndSet(false, true)) {
                return;
            }
            try {
                app.close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "stopping: " + e);
            }
        };
        // sun.misc.Signal (module jdk.unsupported) is the supported way to handle a signal without the JVM exiting
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> {
                    if (stopRequested.getCount() == 0) {
                        LOG.log(Level.WARNING, "SIG{0} again: stopping without waiting for the drain", name);
                        Runtime.getRuntime().halt(128 + signal.getNumber());
                    }
                    stopRequested.countDown();
                });
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                LOG.log(Level.DEBUG, "no handler for SIG{0}: {1}", name, e.getMessage());
            }
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.run();
            ShutdownLogManager.resetWhenStopped();
        }, "vllm-router-shutdown"));
        try {
            stopRequested.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        stop.run();
    }

    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"vllm-router (Java) " + Main.version(),
                    "JVM: " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
