package dev.vllmrouter.bench;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Turns a JMH JSON result file ({@code -rf json}) into compact Markdown tables, one per benchmark method: one row per
 * combination of the other parameters (in the order JMH ran them), one column per {@code workers} value, cells
 * the score in the result's unit (the error bars are in JMH's own table). Usage: {@code JmhSummary <result.json>}.
 */
public final class JmhSummary {
    private static final String COLUMN_PARAM = "workers";

    private JmhSummary() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: JmhSummary <jmh-result.json>");
            System.exit(2);
        }
        JsonNode results = new ObjectMapper().readTree(new File(args[0]));
        Map<String, List<JsonNode>> byBenchmark = new LinkedHashMap<>();
        for (JsonNode r : results) {
            byBenchmark.computeIfAbsent(r.path("benchmark").asText(), b -> new ArrayList<>()).add(r);
        }
        byBenchmark.forEach((benchmark, runs) -> System.out.println(render(benchmark, runs)));
    }

    private static String render(String benchmark, List<JsonNode> runs) {
        TreeSet<Integer> columns = new TreeSet<>();
        Map<String, Map<Integer, String>> cells = new LinkedHashMap<>();
        String rowName = "params";
        String unit = "";
        for (JsonNode r : runs) {
            JsonNode params = r.path("params");
            int col = params.path(COLUMN_PARAM).asInt(0);
            columns.add(col);
            List<String> names = new ArrayList<>();
            List<String> values = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = params.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getKey().equals(COLUMN_PARAM)) {
                    names.add(e.getKey());
                    values.add(e.getValue().asText());
                }
            }
            if (!names.isEmpty()) {
                rowName = String.join(", ", names);
            }
            JsonNode metric = r.path("primaryMetric");
            unit = metric.path("scoreUnit").asText();
            double score = metric.path("score").asDouble();
            String cell = Table.num(score, score < 100 ? 1 : 0);
            cells.computeIfAbsent(values.isEmpty() ? "-" : String.join(", ", values), k -> new LinkedHashMap<>())
                    .put(col, cell);
        }
        List<String> header = new ArrayList<>();
        header.add(rowName + " \\ " + COLUMN_PARAM);
        for (int c : columns) {
            header.add(String.valueOf(c));
        }
        Table table = new Table(header);
        cells.forEach((row, byColumn) -> {
            List<String> line = new ArrayList<>();
            line.add(row);
            for (int c : columns) {
                line.add(byColumn.getOrDefault(c, ""));
            }
            table.row(line);
        });
        String name = benchmark.substring(benchmark.lastIndexOf('.', benchmark.lastIndexOf('.') - 1) + 1);
        return "### " + name + " (" + unit + ", lower is better)\n\n" + table.render();
    }
}
