package dev.vllmrouter;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import dev.vllmrouter.config.ConfigException;
import dev.vllmrouter.config.RouterConfig;
import dev.vllmrouter.config.GivenFlags;
import dev.vllmrouter.config.RouterOptions;
import dev.vllmrouter.config.SettingsSource;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vllm-router demo [flags]}: the router in front of simulated vLLM workers started in the same process, to try
 * it without GPUs. Takes every router flag except {@code --worker-urls}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, abbreviateSynopsis = true, showDefaultValues = true,
        sortOptions = false, usageHelpWidth = 120,
        description = "Run the router in front of simulated vLLM workers (no GPU needed).")
final class DemoCommand implements Callable<Integer> {
    @Mixin
    RouterOptions options;

    @Spec
    CommandSpec spec;

    @Option(names = "--workers", description = "Number of simulated workers.")
    int workers = 2;

    @Option(names = "--model", description = "Model name the simulated workers serve.")
    String model = "demo";

    @Option(names = "--ttft-ms", description = "Simulated time to first token.")
    long ttftMs = 40;

    @Option(names = "--itl-ms", description = "Simulated time between tokens.")
    long itlMs = 15;

    @Override
    public Integer call() {
        Main.awaitWarmup();
        if (!options.workerUrls.isEmpty()) {
            throw new ConfigException("--worker-urls: not used by demo (it starts its own simulated workers)");
        }
        if (workers < 1 || workers > 64) {
            throw new ConfigException("--workers: " + workers + " (expected 1..64)");
        }
        SettingsSource settings = parentSettings();
        GivenFlags flags = GivenFlags.of(spec.commandLine().getParseResult());
        settings.validateKeys(flags.keys());
        RouterConfig checked = RouterConfig.from(options, flags, settings);
        LogSetup.configure(checked.logLevel(), checked.logDir(), checked.logJson());
        RouterCommand.logEnvironment(settings, flags);
        dev.vllmrouter.config.AcceptedFlags.warnings(options, flags, settings)
                .forEach(w -> System.getLogger(DemoCommand.class.getName()).log(System.Logger.Level.WARNING, w));
        List<SimWorker> sims = new ArrayList<>();
        boolean kvEvents = checked.kvEvents() != null;
        for (int i = 0; i < workers; i++) {
            SimConfig.Builder sim = SimConfig.builder()
                    .models(List.of(model))
                    .workerId("sim-" + i)
                    .ttft(Duration.ofMillis(ttftMs))
                    .interTokenLatency(Duration.ofMillis(itlMs));
            if (kvEvents) {
                // every worker publishes at the same port, as vLLM engines on their own hosts do: each simulated
                // worker gets its own loopback address (all of 127.0.0.0/8 is loopback on Linux)
                sim.host("127.0.0." + (i + 1)).kvEventsPort(checked.kvEvents().port())
                        .kvEventsReplayPort(checked.kvEvents().replayPort());
            }
            sims.add(SimWorker.start(sim.build()));
        }
        options.workerUrls = new ArrayList<>(sims.stream().map(SimWorker::url).toList());
        RouterConfig config = RouterConfig.from(options, flags, settings);
        RouterCommand.logAuth(config);
        RouterApp app = RouterApp.start(config);
        String url = app.url();
        System.out.println();
        System.out.println("vllm-router demo: " + workers + " simulated workers " + options.workerUrls
                + (kvEvents ? ", publishing KV-cache events (see GET " + url + "/workers)" : ""));
        System.out.println("Router: " + url + "   metrics: http://" + config.prometheusHost() + ":"
                + app.metricsPort() + "/metrics   Ctrl-C to stop");
        System.out.println("Try:");
        System.out.println("  curl -s " + url + "/v1/models");
        System.out.println("  curl -s " + url + "/v1/chat/completions -H 'Content-Type: application/json' \\");
        System.out.println("       -d '{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'");
        System.out.println("  curl -sN " + url + "/v1/chat/completions -H 'Content-Type: application/json' \\");
        System.out.println("       -d '{\"model\":\"" + model + "\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Hello\"}]}'");
        System.out.println();
        RouterCommand.serveUntilStopped(() -> {
            app.shutdown();
            sims.forEach(SimWorker::close);
        });
        return 0;
    }

    private SettingsSource parentSettings() {
        return (SettingsSource) spec.defaultValueProvider();
    }
}
