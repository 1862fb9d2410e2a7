package dev.vllmrouter.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Supplies option values that were not given on the command line, giving the precedence
 * <b>CLI &gt; environment &gt; config file &gt; defaults</b>:
 * <ul>
 *   <li>environment: {@code VLLM_ROUTER_<NAME>} where NAME is the flag without dashes, upper-case, {@code -} → {@code _}
 *       (e.g. {@code VLLM_ROUTER_WORKER_URLS="http://a:8000 http://b:8000"}); list values split on spaces or commas;</li>
 *   <li>file: the YAML given with {@code --config}, read with Helidon config, keys are the flag names without dashes
 *       ({@code worker-urls: [..]}, {@code port: 30000}); a list becomes a list value, a map ({@code selector}) becomes
 *       {@code k=v} pairs;</li>
 *   <li>otherwise picocli's annotated default.</li>
 * </ul>
 * Unknown keys in the file are an error (a typo must not be silently ignored). Multi-value options use {@code ,} as
 * their split regex, so list values are joined with commas here.
 */
public final class SettingsSource implements CommandLine.IDefaultValueProvider {
    /** Prefix of the environment variables read as settings. */
    public static final String ENV_PREFIX = "VLLM_ROUTER_";

    private final Map<String, String> env;
    private final Map<String, String> file;
    private final Path filePath;
    private final Set<String> supplied = new TreeSet<>();
    private final Set<String> onCommandLine = new java.util.HashSet<>();

    private SettingsSource(Map<String, String> env, Map<String, String> file, Path filePath) {
        this.env = env;
        this.file = file;
        this.filePath = filePath;
    }

    /**
     * @param environment the process environment (injected for tests)
     * @param configFile  the {@code --config} file or {@code null}
     */
    public static SettingsSource create(Map<String, String> environment, Path configFile) {
        return create(environment, configFile, new String[0]);
    }

    /**
     * As {@link #create(Map, Path)}, for the command line {@code args}: a flag given there takes nothing from the
     * environment or the file. picocli asks for a default even for the flags it then reads from the command line,
     * converts it (an unusable value would stop the start though the command line overrides it) and turns an on/off
     * flag around when its default is true ({@code VLLM_ROUTER_REQUEST_LOG=true} with {@code --request-log} would
     * turn the request log off).
     */
    public static SettingsSource create(Map<String, String> environment, Path configFile, String[] args) {
        Map<String, String> env = new HashMap<>();
        Map<String, String> envNames = new HashMap<>();
        List<String> serviceLinks = new java.util.ArrayList<>();
        environment.forEach((k, v) -> {
            if (k.startsWith(ENV_PREFIX) && k.length() > ENV_PREFIX.length()) {
                if (KubernetesServiceLinks.isServiceLink(k, v)) {
                    serviceLinks.add(k);
                    return;
                }
                String key = k.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '-');
                env.put(key, v);
                envNames.put(key, k);
            }
        });
        Map<String, String> file = configFile == null ? Map.of() : readYaml(configFile);
        SettingsSource s = new SettingsSource(env, file, configFile);
        for (String arg : args) {
            if (arg.startsWith("--")) {
                int eq = arg.indexOf('=');
                s.onCommandLine.add(eq < 0 ? arg : arg.substring(0, eq));
            }
        }
        s.envNames = envNames;
        s.serviceLinks = List.copyOf(new TreeSet<>(serviceLinks));
        s.validationUrlsEnv = environment.get(VALIDATION_URLS_ENV);
        s.openAiApiKeyEnv = environment.get("OPENAI_API_KEY");
        environment.forEach((k, v) -> {
            if (k.startsWith("OTEL_") || k.equals("HOSTNAME") || k.equals("HOST")) {
                s.otelEnv.put(k, v);
            }
        });
        return s;
    }

    /** vllm-router's own variable for {@code --api-key-validation-urls} (comma-separated), read when the flag is not set. */
    public static final String VALIDATION_URLS_ENV = "API_KEY_VALIDATION_URLS";

    private String validationUrlsEnv;
    private final Map<String, String> otelEnv = new HashMap<>();
    private Map<String, String> envNames = Map.of();
    private List<String> serviceLinks = List.of();
    private String openAiApiKeyEnv;

    /** The value of {@code OPENAI_API_KEY} (the prefill/decode workers' key in vllm-router), or {@code null}. */
    public String openAiApiKeyEnv() {
        return openAiApiKeyEnv;
    }

    /** The OpenTelemetry variables ({@code OTEL_*}), and {@code HOSTNAME}/{@code HOST} for the trace resource. */
    public Map<String, String> otelEnv() {
        return Collections.unmodifiableMap(otelEnv);
    }

    /** The value of {@value #VALIDATION_URLS_ENV}, or {@code null}. */
    public String validationUrlsEnv() {
        return validationUrlsEnv;
    }

    /**
     * Checks that every key of the file is one of {@code known} (the flags' long names without dashes,
     * {@link GivenFlags#keys}). Unknown {@code VLLM_ROUTER_*} variables are ignored (see {@link #unknownVariables}):
     * vllm-router itself reads some (e.g. {@code VLLM_ROUTER_STAGES}) that are not flags, and a pod's environment
     * holds variables nobody chose.
     */
    public void validateKeys(Set<String> known) {
        for (String key : file.keySet()) {
            if (!known.contains(key) || "config".equals(key)) {
                throw new ConfigException("unknown setting '" + key + "' in " + filePath
                        + " (expected the name of a command-line flag without the leading dashes)");
            }
        }
    }

    /**
     * The {@code VLLM_ROUTER_*} variables that name no flag of {@code known} and are not among the variables
     * vllm-router reads for itself: ignored, and worth a warning at start (a typo such as
     * {@code VLLM_ROUTER_POLICIY} would otherwise go unnoticed).
     */
    public List<String> unknownVariables(Set<String> known) {
        return envNames.entrySet().stream()
                .filter(e -> !known.contains(e.getKey()))
                .map(Map.Entry::getValue)
                .filter(name -> !name.equals(ENV_PREFIX + "CONFIG") && !name.equals(ENV_PREFIX + "STAGES")
                        && !name.equals(ENV_PREFIX + "SLL_SESSION_EXPIRATION_IN_S")
                        && !name.startsWith(ENV_PREFIX + "BENCH_"))
                .sorted()
                .toList();
    }

    /**
     * The {@code VLLM_ROUTER_*} variables left out because they are Kubernetes service links (a Service named
     * {@code vllm-router} gives every pod {@code VLLM_ROUTER_PORT=tcp://10.96.x.y:30000}), sorted.
     */
    public List<String> serviceLinks() {
        return serviceLinks;
    }

    /**
     * A picocli parse error, with where a value that did not come from the command line came from: "Invalid value
     * for option '--port': 'x' is not an int (from environment variable VLLM_ROUTER_PORT)".
     */
    public String describe(CommandLine.ParameterException e) {
        String message = e.getMessage();
        CommandLine.ParseResult parsed = e.getCommandLine() == null ? null : e.getCommandLine().getParseResult();
        if (e.getArgSpec() instanceof OptionSpec option && supplied.contains(option.longestName())
                && (parsed == null || !parsed.hasMatchedOption(option))) {
            message += " (from " + origin(option.longestName()) + ")";
        }
        return message;
    }

    @Override
    public String defaultValue(ArgSpec argSpec) {
        if (!(argSpec instanceof OptionSpec option)) {
            return null;
        }
        String value = lookup(option.names(), option.isMultiValue());
        if (value != null) {
            supplied.add(option.longestName());
        }
        return value;
    }

    /**
     * The value the environment or the file holds for the flag called {@code names} (as picocli is given it: a
     * list from the environment joined with commas), or {@code null}, also when the flag is on the command line;
     * records nothing (see {@link #markSupplied}).
     */
    public String lookup(String[] names, boolean multiValue) {
        for (String name : names) {
            if (onCommandLine.contains(name)) {
                return null;
            }
        }
        for (String name : names) {
            if (!name.startsWith("--")) {
                continue;
            }
            String key = name.substring(2);
            String value = env.get(key);
            if (value != null) {
                return multiValue ? String.join(",", value.trim().split("[\\s,]+")) : value;
            }
            value = file.get(key);
            if (value != null) {
                return value;
            }
        }
        return null;
    }

    /** Records that the flags {@code longestNames} took their values from here (a parse not made by picocli). */
    public void markSupplied(Set<String> longestNames) {
        supplied.addAll(longestNames);
    }

    /** Long option names whose value came from the environment or the file (filled while picocli parses). */
    public Set<String> supplied() {
        return Set.copyOf(supplied);
    }

    /** Where a value for {@code option} came from, for error messages. */
    public String origin(String option) {
        String key = option.startsWith("--") ? option.substring(2) : option;
        if (env.containsKey(key)) {
            return "environment variable " + ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('-', '_');
        }
        if (file.containsKey(key)) {
            return filePath.toString();
        }
        return "command line";
    }

    private static Map<String, String> readYaml(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new ConfigException("--config: file not found: " + path);
        }
        Config config;
        try {
            config = Config.builder()
                    .disableEnvironmentVariablesSource()
                    .disableSystemPropertiesSource()
                    .addSource(ConfigSources.file(path))
                    .build();
        } catch (RuntimeException e) {
            throw new ConfigException("--config: cannot read " + path + ": " + e.getMessage());
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (Config node : config.asNodeList().orElse(List.of())) {
            values.put(node.name(), flatten(node, path));
        }
        return values;
    }

    private static String flatten(Config node, Path path) {
        return switch (node.type()) {
            case VALUE -> node.asString().orElse("");
            case LIST -> node.asNodeList().orElse(List.of()).stream()
                    .map(n -> flatten(n, path))
                    .collect(Collectors.joining(","));
            case OBJECT -> node.asNodeList().orElse(List.of()).stream()
                    .map(n -> n.name() + "=" + flatten(n, path))
                    .collect(Collectors.joining(","));
            case MISSING -> "";
        };
    }
}
