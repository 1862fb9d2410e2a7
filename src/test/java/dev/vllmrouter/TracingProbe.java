package dev.vllmrouter;

import java.net.URI;
import java.net.http.HttpRequest;

import dev.vllmrouter.testing.Fleet;

/**
 * Run in a child JVM by {@link TracingClassLoadingIT}: a router (flags from the arguments) in front of one simulated
 * worker serves one chat request carrying a caller's traceparent, then everything stops. Prints the status.
 */
public final class TracingProbe {
    private TracingProbe() {
    }

    public static void main(String[] args) {
        try (Fleet fleet = Fleet.start(1, args)) {
            int status = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                    .header("Content-Type", "application/json")
                    .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"max_tokens\":2,"
                            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                    .build()).statusCode();
            System.out.println("probe status " + status);
        }
    }
}
