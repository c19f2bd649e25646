package org.attn4j.cli;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Time and throughput against sequence length, one series per kernel, as a PNG (XChart). */
final class Plot {
    private Plot() {}

    /** One point of a series. */
    record Point(long seq, double seconds, double tokensPerSecond) {}

    static void write(String path, String title, Map<String, List<Point>> series) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart time = chart(title + ": time", "time per call (ms)");
        XYChart speed = chart(title + ": throughput", "tokens/s");
        for (Map.Entry<String, List<Point>> e : series.entrySet()) {
            List<Double> n = new ArrayList<>(), ms = new ArrayList<>(), tps = new ArrayList<>();
            for (Point p : e.getValue()) {
                n.add((double) p.seq());
                ms.add(p.seconds() * 1e3);
                tps.add(p.tokensPerSecond());
            }
            time.addSeries(e.getKey(), n, ms).setMarker(SeriesMarkers.CIRCLE);
            speed.addSeries(e.getKey(), n, tps).setMarker(SeriesMarkers.CIRCLE);
        }
        String file = path.endsWith(".png") ? path.substring(0, path.length() - 4) : path;
        BitmapEncoder.saveBitmap(List.of(time, speed), 1, 2, file, BitmapEncoder.BitmapFormat.PNG);
    }

    /** SALE's accuracy-speed trade-off: speedup over dense against error vs dense, one series per length. */
    static void writeCurve(String path, String title, List<SaleCommand.Point> points) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart c = new XYChartBuilder().width(720).height(480).title(title).xAxisTitle("rel. L2 error vs dense")
                .yAxisTitle("speedup over dense FlashAttention").build();
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideE);
        Map<Long, List<SaleCommand.Point>> bySeq = new java.util.TreeMap<>();
        for (SaleCommand.Point p : points) bySeq.computeIfAbsent(p.seq(), s -> new ArrayList<>()).add(p);
        for (Map.Entry<Long, List<SaleCommand.Point>> e : bySeq.entrySet()) {
            List<Double> err = new ArrayList<>(), speed = new ArrayList<>();
            for (SaleCommand.Point p : e.getValue()) {
                err.add(Math.max(p.error(), 1e-7));
                speed.add(p.speedup());
            }
            c.addSeries("N = " + e.getKey(), err, speed).setMarker(SeriesMarkers.CIRCLE);
        }
        String file = path.endsWith(".png") ? path.substring(0, path.length() - 4) : path;
        BitmapEncoder.saveBitmap(c, file, BitmapEncoder.BitmapFormat.PNG);
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart c = new XYChartBuilder().width(640).height(460).title(title).xAxisTitle("sequence length (tokens)")
                .yAxisTitle(yTitle).build();
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setYAxisLogarithmic(true);
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        return c;
    }
}
