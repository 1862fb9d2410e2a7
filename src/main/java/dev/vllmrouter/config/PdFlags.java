package dev.vllmrouter.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import dev.vllmrouter.common.WorkerUrl;

import static dev.vllmrouter.config.ConfigException.require;

/**
 * The prefill/decode flags ({@code --vllm-pd-disaggregation}, {@code --prefill}, {@code --decode}, the stages'
 * policies, {@code --kv-connector}, {@code --vllm-discovery-address}) checked into a {@link PdConfig}: a part of
 * {@link RouterConfig#from}.
 */
final class PdFlags {
    private PdFlags() {
    }

    /**
     * {@code null} when {@code --vllm-pd-disaggregation} is off (then the PD flags on the command line are refused).
     *
     * @param policy {@code --policy} and its parameters, the stages' default
     */
    static PdConfig from(RouterOptions o, GivenFlags parsed, PolicyConfig policy, SettingsSource settings) {
        if (!o.vllmPdDisaggregation) {
            for (String flag : List.of("--prefill", "--decode", "--prefill-policy", "--decode-policy",
                    "--vllm-discovery-address", "--kv-connector")) {
                if (parsed.onCommandLine(flag)) {
                    throw new ConfigException(flag + ": only with --vllm-pd-disaggregation");
                }
            }
            return null;
        }
        require(o.workerUrls.isEmpty(),
                "--worker-urls: not used with --vllm-pd-disaggregation (give --prefill and --decode)");
        String connector = o.kvConnector.trim().toLowerCase(Locale.ROOT);
        require(connector.equals("nixl") || connector.equals("mooncake") || connector.equals("moriio"),
                "--kv-connector: '" + o.kvConnector + "' (expected nixl, mooncake or moriio)");
        List<PdConfig.Prefill> prefill = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String raw : o.prefill) {
            PdConfig.Prefill p = PrefillArgs.parse(raw);
            require(seen.add(p.url().id()), "--prefill: '" + p.url().id() + "' is given twice");
            prefill.add(p);
        }
        List<WorkerUrl> decode = new ArrayList<>();
        for (String raw : o.decode) {
            WorkerUrl url;
            try {
                url = WorkerUrl.parse(raw);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("--decode: " + e.getMessage());
            }
            require(seen.add(url.id()), "--decode: '" + url.id() + "' is given twice (or also as --prefill)");
            decode.add(url);
        }
        String discovery = o.vllmDiscoveryAddress == null ? null : o.vllmDiscoveryAddress.trim();
        if (discovery != null) {
            int colon = discovery.lastIndexOf(':');
            boolean ok = colon > 0 && colon < discovery.length() - 1
                    && discovery.substring(colon + 1).chars().allMatch(Character::isDigit)
                    && discovery.length() - colon - 1 <= 5
                    && Integer.parseInt(discovery.substring(colon + 1)) <= 65535;
            require(ok, "--vllm-discovery-address: '" + discovery + "' (expected host:port, e.g. 0.0.0.0:30001)");
            require(!connector.equals("mooncake"),
                    "--vllm-discovery-address: not used with --kv-connector mooncake (P2P-NCCL registration)");
        }
        require(discovery != null || !connector.equals("moriio"),
                "--kv-connector moriio: needs --vllm-discovery-address (MoRI-IO engines register over ZeroMQ)");
        require(discovery != null || o.serviceDiscovery || (!prefill.isEmpty() && !decode.isEmpty()),
                "--vllm-pd-disaggregation: give at least one --prefill and one --decode, --vllm-discovery-address "
                        + "or --service-discovery");
        // vllm-router sends OPENAI_API_KEY to prefill and decode workers ("Bearer " and nothing when unset: here none)
        String workerKey = o.apiKey;
        String envKey = settings.openAiApiKeyEnv();
        if (workerKey == null && envKey != null && !envKey.isBlank()) {
            workerKey = envKey.strip();
            require(workerKey.chars().noneMatch(c -> c < 0x20 || c == 0x7f),
                    "OPENAI_API_KEY: contains control characters");
        }
        return new PdConfig(prefill, decode, stagePolicy("--prefill-policy", o.prefillPolicy, policy),
                stagePolicy("--decode-policy", o.decodePolicy, policy), connector, discovery, workerKey);
    }

    /** A stage's policy: its own name when given, else {@code --policy}'s, always with the shared parameters. */
    private static PolicyConfig stagePolicy(String flag, String name, PolicyConfig base) {
        if (name == null) {
            return base;
        }
        String n = name.trim().toLowerCase(Locale.ROOT);
        require(RouterConfig.KNOWN_POLICIES.contains(n), flag + ": '" + name + "' (expected one of " + RouterConfig.KNOWN_POLICIES + ")");
        return new PolicyConfig(n, base.cacheThreshold(), base.balanceAbsThreshold(), base.balanceRelThreshold(),
                base.evictionInterval(), base.maxTreeSize());
    }
}
