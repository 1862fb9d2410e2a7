package dev.vllmrouter.sim;

import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;

/**
 * The common life of an inference request (chat, completions, responses, embeddings, rerank, transcription):
 * <pre>
 * record -> in-flight +1 -> parse/validate (400/404) -> failNext/status fault -> scheduler slot (waiting)
 *   -> hang fault (running) -> die fault for non-streaming -> route responds (latency model, body or SSE)
 *   -> slot freed
 * </pre>
 * The counters (served +1, in-flight -1) settle once, just before the last bytes of the answer are written
 * ({@link Call#onSettled}): the body of a plain answer, a stream's {@code [DONE]}, an error envelope; so a client
 * holding the whole answer never sees it still in flight. On paths with no answer (disconnect, injected death,
 * worker close) they settle in {@code finally}; the scheduler slot is released by try-with-resources. Both return
 * to 0 on every path.
 *
 * <p>Aborts (client gone, worker closing, injected death) surface as Helidon's {@link CloseConnectionException},
 * which closes the connection without another byte; that is the closest thing to vLLM's process dying or
 * aborting a request.
 */
final class InferencePipeline {

    /** One inference route: how to parse its request and how to answer it. */
    interface Route<T> {
        /** Parses and validates; throws {@link ApiError} for 4xx answers. */
        T parse(Call call);

        boolean streaming(T request);

        /** Answers (latency, body or stream); may throw {@link CloseConnectionException} to abort. */
        void respond(T request, Call call);
    }

    private final SimContext ctx;

    InferencePipeline(SimContext ctx) {
        this.ctx = ctx;
    }

    <T> Handler handler(Route<T> route) {
        return (req, res) -> {
            Call call = Call.open(ctx, req, res);
            if (call != null) {
                serve(route, call);
            }
        };
    }

    @SuppressWarnings("try")
    private <T> void serve(Route<T> route, Call call) {
        SimStats stats = ctx.stats;
        stats.inFlight.incrementAndGet();
        call.onSettled(served -> {
            if (served) {
                stats.served.increment();
            }
            stats.inFlight.decrementAndGet();
        });
        try {
            T request = route.parse(call);
            int failure = ctx.faults.takeFailure();
            if (failure != 0) {
                String retryAfter = ctx.faults.retryAfter();
                if (retryAfter != null) {
                    call.res.header("Retry-After", retryAfter);
                }
                throw ApiError.injected(failure);
            }
            try (Scheduler.Slot ignored = ctx.scheduler.admit()) {
                awaitHangLifted(call);
                int die = ctx.faults.dieAfterEvents();
                if (die >= 0 && !route.streaming(request)) {
                    throw new CloseConnectionException("sim-worker fault: connection closed without a response");
                }
                call.dieAfterEvents = die;
                route.respond(request, call);
            }
            call.settle(true);
            call.complete();
        } catch (ApiError e) {
            call.fail(e);
        } finally {
            call.settle(false);
        }
    }

    /** Holds the request while the hang fault is on; aborts when the client goes away or the worker closes. */
    private void awaitHangLifted(Call call) {
        SimFaults faults = ctx.faults;
        if (!faults.hanging()) {
            return;
        }
        boolean watched = ctx.watch.watchCurrent(() -> {
            call.markClientGone();
            faults.wakeAll();
        });
        if (watched) {
            call.closeAfterResponse();
        }
        if (faults.awaitHangLifted(() -> call.clientGone() || ctx.closed())) {
            return;
        }
        if (call.clientGone()) {
            ctx.log.disconnected();
            ctx.stats.finishedAbort.increment();
            throw new CloseConnectionException("client disconnected while the request was hung");
        }
        throw new CloseConnectionException("sim-worker closed while the request was hung");
    }
}
