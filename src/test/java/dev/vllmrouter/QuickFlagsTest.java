package dev.vllmrouter;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.vllmrouter.config.GivenFlags;
import dev.vllmrouter.config.PrefillArgs;
import dev.vllmrouter.config.QuickFlags;
import dev.vllmrouter.config.RouterOptions;
import dev.vllmrouter.config.SettingsSource;

import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link QuickFlags}' invariant: every command line it takes, it reads as the {@code vllm-router} command's picocli
 * parser does (same fields, same flags seen on the command line, same settings taken from the environment or the
 * file); every other one it leaves to picocli, having recorded nothing.
 */
class QuickFlagsTest {
    @TempDir
    Path dir;

    /** What a parse leaves: every option field's value, the flags seen on the command line, the supplied settings. */
    private record Outcome(Map<String, String> fields, Set<String> onCommandLine, Set<String> supplied,
                           Set<String> keys) {
    }

    @Test
    void knowsEveryFlagAsItsAnnotationDeclaresIt() {
        Map<String, String> fromAnnotations = new TreeMap<>();
        for (Field f : RouterOptions.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers())) {
                continue;
            }
            CommandLine.Option option = f.getAnnotation(CommandLine.Option.class);
            assertThat(option).as("every public field of RouterOptions is a flag: %s", f.getName()).isNotNull();
            boolean multi = List.class.isAssignableFrom(f.getType()) || Map.class.isAssignableFrom(f.getType());
            String kind = f.getType() == boolean.class ? "ON_OFF" : List.class.isAssignableFrom(f.getType()) ? "LIST"
                    : Map.class.isAssignableFrom(f.getType()) ? "MAP" : "SINGLE";
            if (multi) {
                assertThat(option.split()).as("the split of %s", f.getName()).isEqualTo(",");
                assertThat(option.arity()).as("the arity of %s", f.getName()).isIn("", "0..*", "1..*");
            } else {
                assertThat(option.arity()).as("the arity of %s", f.getName()).isEmpty();
            }
            fromAnnotations.put(f.getName(), String.join(" ", option.names()) + " " + kind
                    + (multi && !option.arity().isEmpty() ? " variadic" : ""));
        }
        assertThat(QuickFlags.describe()).isEqualTo(fromAnnotations);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "--worker-urls http://a:8000 http://b:8000 --policy round_robin",
        "--worker-urls http://a:8000,http://b:8000 --port 30001 --host 0.0.0.0",
        "--worker-urls=http://a:8000 --port=8080",
        "--worker-urls http://a:8000 --request-log --decision-header --disable-retries",
        "--service-discovery --selector app=vllm role=decode --service-discovery-namespace ns",
        "--service-discovery --selector app=vllm,role=decode --service-discovery-port 8000",
        "--vllm-pd-disaggregation --prefill http://p:8000 8998 --prefill http://q:8000 none --decode http://d:8000"
                + " --decode http://e:8000",
        "--worker-urls http://a:8000 --cache-threshold 0.5 --balance-abs-threshold 64 --max-payload-size 1048576",
        "--worker-urls http://a:8000 --runtime vllm --eviction-interval-secs 30",
        "--worker-urls http://a:8000 --tls-cipher-suites TLS_AES_128_GCM_SHA256 --tls-cipher-suites"
                + " TLS_AES_256_GCM_SHA384",
        "--worker-urls http://a:8000 --client-api-keys k1 k2 --admin-api-key adm",
        "--worker-urls http://a:8000 --kv-events-port 5557 --tokenizer-path demo=/m/qwen /m/llama",
        "--worker-urls http://a:8000 --otel-sampling-ratio 0.25 --max-client-connections 100",
        "--worker-urls http://a:8000 --log-level debug --request-id-headers x-request-id x-trace-id",
    })
    void readsTheUsualCommandLinesAsPicocliDoes(String line) {
        String[] args = line.isEmpty() ? new String[0] : line.split(" ");
        assertSameAsPicocli(args, Map.of(), null);
    }

    @Test
    void readsEveryFlagAsPicocliDoesOnTheCommandLineInTheEnvironmentAndInTheFile() throws Exception {
        List<String> all = new ArrayList<>();
        Map<String, String> allEnv = new HashMap<>();
        StringBuilder yaml = new StringBuilder();
        for (Field f : optionFields()) {
            CommandLine.Option option = f.getAnnotation(CommandLine.Option.class);
            String name = option.names()[option.names().length - 1];
            String key = name.substring(2);
            String envName = SettingsSource.ENV_PREFIX + key.toUpperCase(java.util.Locale.ROOT).replace('-', '_');
            List<String> cli = new ArrayList<>();
            cli.add(name);
            String envValue;
            String yamlValue;
            Class<?> type = f.getType();
            if (type == boolean.class) {
                envValue = "true";
                yamlValue = "true";
            } else if (List.class.isAssignableFrom(type)) {
                cli.add("v1,v2");
                cli.add(name);
                cli.add("v3");
                if (!option.arity().isEmpty()) {
                    cli.subList(cli.size() - 2, cli.size()).clear();
                    cli.add("v3");
                }
                envValue = "v1 v2, v3";
                yamlValue = "\n  - v1\n  - v2";
            } else if (Map.class.isAssignableFrom(type)) {
                cli.add("a=1,b=2");
                cli.add("c=3");
                envValue = "a=1,b=2";
                yamlValue = "\n  a: \"1\"\n  b: \"2\"";
            } else if (type == Path.class) {
                cli.add("/tmp/x");
                envValue = "/tmp/y";
                yamlValue = "/tmp/z";
            } else if (type == String.class) {
                cli.add("text");
                envValue = "env text";
                yamlValue = "file";
            } else if (type == double.class || type == Double.class) {
                cli.add("0.25");
                envValue = "0.5";
                yamlValue = "1.5";
            } else {
                cli.add("7");
                envValue = "8";
                yamlValue = "9";
            }
            if (name.equals("--config")) {
                continue; // names the file the others come from
            }
            String[] args = cli.toArray(String[]::new);
            assertSameAsPicocli(args, Map.of(), null);
            assertSameAsPicocli(new String[0], Map.of(envName, envValue), null);
            Path file = Files.writeString(dir.resolve(key + ".yaml"), key + ": " + yamlValue + "\n");
            assertSameAsPicocli(new String[0], Map.of(), file);
            assertSameAsPicocli(args, Map.of(envName, envValue), file);
            all.addAll(cli);
            allEnv.put(envName, envValue);
            yaml.append(key).append(": ").append(yamlValue).append('\n');
        }
        assertSameAsPicocli(all.toArray(String[]::new), Map.of(), null);
        Path file = Files.writeString(dir.resolve("all.yaml"), yaml);
        assertSameAsPicocli(new String[0], allEnv, file);
        assertSameAsPicocli(new String[] {"--config", file.toString(), "--port", "1", "--request-log"}, Map.of(), null);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "--help", "-h", "--version", "-V", "demo", "sim-worker --port 1", "--bogus", "--port=", "--port -1",
        "--port 0x10", "--port 010", "--port 99999999999", "--host a --host b", "--worker-urls a --worker-urls b",
        "--request-log=true", "-- --port 1", "@args.txt", "--worker-urls", "--worker-urls \"a\"", "--selector a",
        "--selector a=1=2", "--worker-urls a,,b", "--worker-urls a, --port 1", "x", "--port", "--worker-urls a demo",
        "--request-log --request-log", "--worker-urls=a b", "--cache-threshold .5", "--cache-threshold 1e-3",
    })
    void leavesEveryOtherCommandLineToPicocliHavingRecordedNothing(String line) {
        SettingsSource settings = SettingsSource.create(Map.of("VLLM_ROUTER_POLICY", "random"), null);
        assertThat(QuickFlags.parse(PrefillArgs.normalize(line.split(" ")), settings)).isNull();
        assertThat(settings.supplied()).isEmpty();
    }

    @Test
    void aFlagOnTheCommandLineTakesNothingFromTheEnvironment() {
        String[] args = {"--request-log", "--port", "1"};
        SettingsSource settings = SettingsSource.create(Map.of("VLLM_ROUTER_REQUEST_LOG", "true",
                "VLLM_ROUTER_PORT", "thirty", "VLLM_ROUTER_POLICY", "random"), null, args);
        CommandLine cmd = Main.commandLine(settings);
        cmd.parseArgs(args);
        RouterOptions picocli = ((RouterCommand) cmd.getCommand()).options;
        assertThat(picocli.requestLog).as("not turned around by the environment's true").isTrue();
        assertThat(picocli.port).isEqualTo(1);
        assertThat(picocli.policy).isEqualTo("random");
        assertThat(settings.supplied()).containsExactly("--policy");
        assertSameAsPicocli(args, Map.of("VLLM_ROUTER_REQUEST_LOG", "true", "VLLM_ROUTER_PORT", "thirty"), null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"VLLM_ROUTER_HOST=", "VLLM_ROUTER_HELP=true", "VLLM_ROUTER_VERSION=true",
        "VLLM_ROUTER_REQUEST_LOG=yes", "VLLM_ROUTER_WORKER_URLS=", "VLLM_ROUTER_SELECTOR=app"})
    void leavesToPicocliTheSettingsItWouldReadDifferently(String variable) {
        String[] kv = variable.split("=", 2);
        SettingsSource settings = SettingsSource.create(Map.of(kv[0], kv[1], "VLLM_ROUTER_POLICY", "random"), null);
        assertThat(QuickFlags.parse(new String[] {"--port", "1"}, settings)).isNull();
        assertThat(settings.supplied()).isEmpty();
    }

    private void assertSameAsPicocli(String[] rawArgs, Map<String, String> env, Path file) {
        String[] args = PrefillArgs.normalize(rawArgs);
        Path configFile = dev.vllmrouter.config.RouterCli.configFile(args, env);
        Path source = file != null ? file : configFile;
        SettingsSource forPicocli = SettingsSource.create(env, source, args);
        CommandLine cmd = Main.commandLine(forPicocli);
        CommandLine.ParseResult parsed = cmd.parseArgs(args);
        RouterCommand command = cmd.getCommand();
        Outcome expected = outcome(command.options, GivenFlags.of(parsed), forPicocli);

        SettingsSource forQuick = SettingsSource.create(env, source, args);
        QuickFlags.Parsed quick = QuickFlags.parse(args, forQuick);
        assertThat(quick).as("taken: %s %s %s", String.join(" ", rawArgs), env, file).isNotNull();
        Outcome actual = outcome(quick.options(), quick.flags(), forQuick);
        assertThat(actual).as("%s %s %s", String.join(" ", rawArgs), env, file).isEqualTo(expected);
    }

    private static Outcome outcome(RouterOptions options, GivenFlags flags, SettingsSource settings) {
        Map<String, String> fields = new TreeMap<>();
        Set<String> onCommandLine = new TreeSet<>();
        for (Field f : optionFields()) {
            try {
                Object value = f.get(options);
                fields.put(f.getName(), value == null ? "null" : value.getClass().getSimpleName().replace("Linked", "")
                        .replace("Array", "") + ":" + value);
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
            for (String name : f.getAnnotation(CommandLine.Option.class).names()) {
                if (flags.onCommandLine(name)) {
                    onCommandLine.add(name);
                }
                assertThat(flags.longestName(name)).isNotNull();
            }
        }
        Set<String> keys = new TreeSet<>(flags.keys());
        keys.removeAll(Set.of("help", "version"));
        return new Outcome(fields, onCommandLine, settings.supplied(), keys);
    }

    private static List<Field> optionFields() {
        List<Field> fields = new ArrayList<>();
        for (Field f : RouterOptions.class.getFields()) {
            if (!Modifier.isStatic(f.getModifiers()) && f.isAnnotationPresent(CommandLine.Option.class)) {
                fields.add(f);
            }
        }
        return fields;
    }
}
