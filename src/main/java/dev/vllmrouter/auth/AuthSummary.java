package dev.vllmrouter.auth;

import java.util.ArrayList;
import java.util.List;

import dev.vllmrouter.config.AuthConfig;

/**
 * What the router says at start about its keys: which routes need which key, and the set-ups that look protected
 * but are not (client keys without an admin key make every client an admin; no key at all on a non-loopback
 * address opens the admin API to the network).
 */
public final class AuthSummary {
    /** One start-up line; {@code warning} lines are logged as warnings. */
    public record Line(boolean warning, String text) {
    }

    private static final String ADMIN_ROUTES = "admin routes (/add_worker, /remove_worker, /workers, /list_workers, "
            + "/get_loads, /flush_cache, and vLLM's state-changing routes through the proxy)";
    private static final String CLIENT_ROUTES = "client routes (the OpenAI routes, /v1/models, the transparent proxy)";

    private AuthSummary() {
    }

    /** @param host the router's bind address ({@code --host}) */
    public static List<Line> of(AuthConfig auth, String host) {
        List<Line> lines = new ArrayList<>();
        boolean loopback = host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1");
        if (!auth.clientAuth() && auth.adminKey() == null) {
            lines.add(new Line(!loopback, "authentication is off: every route is open, the admin API included"
                    + (loopback ? "" : " (listening on " + host + "); set --admin-api-key, and --client-api-keys "
                    + "or --api-key-validation-urls for clients")));
            return lines;
        }
        lines.add(new Line(false, "probes (/health, /readiness, /liveness, /health_generate) need no key"));
        if (auth.clientAuth()) {
            lines.add(new Line(false, CLIENT_ROUTES + " need a client key ("
                    + auth.clientKeys().size() + " static, " + auth.validationUrls().size() + " validation service"
                    + (auth.validationUrls().size() == 1 ? "" : "s") + ")"
                    + (auth.adminKey() != null ? " or the admin key" : "")));
        } else {
            lines.add(new Line(false, CLIENT_ROUTES + " need no key"));
        }
        if (auth.adminKey() != null) {
            lines.add(new Line(false, ADMIN_ROUTES + " need the admin key"));
        } else {
            lines.add(new Line(true, "no --admin-api-key: " + ADMIN_ROUTES + " take any client key, so every "
                    + "client can remove the workers and add its own server, which then receives other clients' "
                    + "prompts and the workers' --api-key; set --admin-api-key"));
        }
        return lines;
    }
}
