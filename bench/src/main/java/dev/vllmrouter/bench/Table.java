package dev.vllmrouter.bench;

import java.util.ArrayList;
import java.util.List;

/** A Markdown table printed with aligned columns; the first column left-aligned, the others right-aligned. */
final class Table {
    private final List<String> header;
    private final List<List<String>> rows = new ArrayList<>();

    Table(List<String> header) {
        this.header = List.copyOf(header);
    }

    Table(String... header) {
        this(List.of(header));
    }

    Table row(List<String> cells) {
        if (cells.size() != header.size()) {
            throw new IllegalArgumentException(cells.size() + " cells for " + header.size() + " columns");
        }
        rows.add(List.copyOf(cells));
        return this;
    }

    Table row(String... cells) {
        return row(List.of(cells));
    }

    String render() {
        int[] width = new int[header.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = Math.max(3, header.get(c).length());
            for (List<String> r : rows) {
                width[c] = Math.max(width[c], r.get(c).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, header, width);
        sb.append('|');
        for (int c = 0; c < width.length; c++) {
            sb.append(c == 0 ? "-" + "-".repeat(width[c]) + "-|" : "-" + "-".repeat(width[c]) + ":|");
        }
        sb.append('\n');
        for (List<String> r : rows) {
            line(sb, r, width);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells, int[] width) {
        sb.append('|');
        for (int c = 0; c < width.length; c++) {
            String v = cells.get(c);
            String pad = " ".repeat(width[c] - v.length());
            sb.append(' ').append(c == 0 ? v + pad : pad + v).append(" |");
        }
        sb.append('\n');
    }

    static String pct(double fraction) {
        return String.format(java.util.Locale.ROOT, "%.1f %%", 100 * fraction);
    }

    static String num(double v, int decimals) {
        return String.format(java.util.Locale.ROOT, "%,." + decimals + "f", v);
    }
}
