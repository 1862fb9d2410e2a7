package dev.vllmrouter.config;

import java.nio.file.Files;
import java.nio.file.Path;
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
        Map<String, String> env = new HashMap<>();
        environment.forEach((k, v) -> {
            if (k.startsWith(ENV_PREFIX) && k.length() > ENV_PREFIX.length()) {
                String key = k.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '-');
                env.put(key, v);
            }
        });
        Map<String, String> file = configFile == null ? Map.of() : readYaml(configFile);
        SettingsSource s = new SettingsSource(env, file, configFile);
        s.validationUrlsEnv = environment.get(VALIDATION_URLS_ENV);
        s.otlpEndpointEnv = environment.get("OTEL_EXPORTER_OTLP_ENDPOINT");
        return s;
    }

    /** vllm-router's own variable for {@code --api-key-validation-urls} (comma-separated), read when the flag is not set. */
    public static final String VALIDATION_URLS_ENV = "API_KEY_VALIDATION_URLS";

    private String validationUrlsEnv;
    private String otlpEndpointEnv;

    /** The value of {@code OTEL_EXPORTER_OTLP_ENDPOINT}, or {@code null}. */
    public String otlpEndpointEnv() {
        return otlpEndpointEnv;
    }

    /** The value of {@value #VALIDATION_URLS_ENV}, or {@code null}. */
    public String validationUrlsEnv() {
        return validationUrlsEnv;
    }

    /**
     * Checks that every key of the file names an option of {@code spec}. Unknown {@code VLLM_ROUTER_*} variables are
     * ignored: vllm-router itself reads some (e.g. {@code VLLM_ROUTER_STAGES}) that are not flags.
     */
    public void validateKeys(CommandLine.Model.CommandSpec spec) {
        Set<String> known = spec.options().stream()
                .flatMap(o -> java.util.Arrays.stream(o.names()))
                .filter(n -> n.startsWith("--"))
                .map(n -> n.substring(2))
                .collect(Collectors.toSet());
        for (String key : file.keySet()) {
            if (!known.contains(key) || "config".equals(key)) {
                throw new ConfigException("unknown setting '" + key + "' in " + filePath
                        + " (expected the name of a command-line flag without the leading dashes)");
            }
        }
    }

    @Override
    public String defaultValue(ArgSpec argSpec) {
        if (!(argSpec instanceof OptionSpec option)) {
            return null;
        }
        for (String name : option.names()) {
            if (!name.startsWith("--")) {
                continue;
            }
            String key = name.substring(2);
            String value = env.get(key);
            if (value != null) {
                supplied.add(option.longestName());
                return option.isMultiValue() ? String.join(",", value.trim().split("[\\s,]+")) : value;
            }
            value = file.get(key);
            if (value != null) {
                supplied.add(option.longestName());
                return value;
            }
        }
        return null;
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
