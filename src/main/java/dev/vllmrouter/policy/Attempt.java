package dev.vllmrouter.policy;

import java.util.ArrayList;
import java.util.List;

import dev.vllmrouter.worker.Worker;

/**
 * One attempt of a request: its number (1 for the first) and the workers already tried, which a picker must not
 * return again (a failed worker is never retried within the same request).
 */
public final class Attempt {
    private static final Attempt FIRST = new Attempt(1, List.of());

    private final int number;
    private final List<Worker> tried;

    private Attempt(int number, List<Worker> tried) {
        this.number = number;
        this.tried = tried;
    }

    public static Attempt first() {
        return FIRST;
    }

    /** The attempt after this one, which also excludes {@code failed}. */
    public Attempt next(Worker failed) {
        return new Attempt(number + 1, plus(failed));
    }

    /** This attempt again, excluding {@code passed} too (its circuit refused the call: nothing was sent). */
    public Attempt skip(Worker passed) {
        return new Attempt(number, plus(passed));
    }

    private List<Worker> plus(Worker w) {
        List<Worker> t = new ArrayList<>(tried.size() + 1);
        t.addAll(tried);
        t.add(w);
        return List.copyOf(t);
    }

    public int number() {
        return number;
    }

    public List<Worker> tried() {
        return tried;
    }

    /** {@code workers} without those already tried (the same list when none was). */
    public List<Worker> untried(List<Worker> workers) {
        if (tried.isEmpty()) {
            return workers;
        }
        List<Worker> out = new java.util.ArrayList<>(workers.size());
        for (Worker w : workers) {
            if (!wasTried(w)) {
                out.add(w);
            }
        }
        return out;
    }

    public boolean wasTried(Worker worker) {
        // a handful of entries at most: a list scan beats hashing
        for (Worker w : tried) {
            if (w == worker) {
                return true;
            }
        }
        return false;
    }
}
