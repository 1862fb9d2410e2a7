package dev.vllmrouter.common;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * A worker address as vllm-router writes it: {@code http(s)://host:port[/prefix]} optionally followed by
 * {@code @rank} for one data-parallel rank of that server. The request URL always uses {@link #base()} (the
 * {@code @rank} would otherwise be parsed as URL user-info); the rank travels in {@code X-data-parallel-rank}.
 *
 * @param base the URL without {@code @rank} and without a trailing slash
 * @param rank the DP rank, or {@code -1} for a plain worker
 */
public record WorkerUrl(String base, int rank) {

    /** The worker's id: {@code base} or {@code base@rank}. */
    public String id() {
        return rank < 0 ? base : base + "@" + rank;
    }

    public boolean isDataParallel() {
        return rank >= 0;
    }

    public WorkerUrl withRank(int newRank) {
        return new WorkerUrl(base, newRank);
    }

    /**
     * Parses and normalises {@code text}.
     *
     * @throws IllegalArgumentException with a message saying what is wrong
     */
    public static WorkerUrl parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty worker URL");
        }
        String s = text.trim();
        int rank = -1;
        int at = s.lastIndexOf('@');
        if (at > 0 && at > s.indexOf("://") + 2) {
            String suffix = s.substring(at + 1);
            if (!suffix.isEmpty() && suffix.chars().allMatch(Character::isDigit) && suffix.length() < 6) {
                rank = Integer.parseInt(suffix);
                s = s.substring(0, at);
            } else {
                throw new IllegalArgumentException("'" + text + "': expected url@<rank> with a numeric rank");
            }
        }
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        URI uri;
        try {
            uri = new URI(s);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + text + "': not a URL (" + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("grpc")) {
            throw new IllegalArgumentException("'" + text + "': not supported yet: grpc:// workers");
        }
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("'" + text + "': expected an http:// or https:// URL");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new IllegalArgumentException("'" + text + "': URL has no host");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("'" + text + "': a worker URL has no query, fragment or user-info");
        }
        return new WorkerUrl(s, rank);
    }
}
