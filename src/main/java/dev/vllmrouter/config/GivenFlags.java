package dev.vllmrouter.config;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * What a parse of the router's flags tells beyond the values: which flags were on the command line, and the names of
 * all flags. Made by picocli ({@link #of(ParseResult)}) or by {@link QuickFlags}, which agree on every command line
 * the latter accepts.
 */
public interface GivenFlags {
    /** The longest name of the flag called {@code name} (e.g. {@code --runtime} → {@code --backend}), or null. */
    String longestName(String name);

    /** Whether the flag called {@code name} (by any of its names) was on the command line. */
    boolean onCommandLine(String name);

    /** Every long name of every flag without its dashes: the keys of the config file and of the environment. */
    Set<String> keys();

    /** picocli's view of a parse. */
    static GivenFlags of(ParseResult parsed) {
        Set<String> keys = parsed.commandSpec().options().stream()
                .flatMap(o -> Arrays.stream(o.names()))
                .filter(n -> n.startsWith("--"))
                .map(n -> n.substring(2))
                .collect(Collectors.toUnmodifiableSet());
        return new GivenFlags() {
            @Override
            public String longestName(String name) {
                OptionSpec option = parsed.commandSpec().findOption(name);
                return option == null ? null : option.longestName();
            }

            @Override
            public boolean onCommandLine(String name) {
                OptionSpec option = parsed.commandSpec().findOption(name);
                return option != null && parsed.hasMatchedOption(option);
            }

            @Override
            public Set<String> keys() {
                return keys;
            }
        };
    }
}
