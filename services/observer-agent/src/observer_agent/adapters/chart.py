"""The weekly chart: planned vs actual minutes per day, as a self-contained SVG drawn with drawsvg."""

from __future__ import annotations

import drawsvg as draw

from pma_core.contracts.reflections import WeeklyMetrics

WIDTH, HEIGHT = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 56
COLORS = {"planned": "#9db4d6", "actual": "#2c6fbb"}
FONT = "system-ui, sans-serif"


def _scale_top(values: list[int]) -> int:
    """A round top for the y axis: the next multiple of 60 minutes above the largest bar (at least 60)."""
    return max(60, -(-max(values, default=0) // 60) * 60)


class WeeklyChart:
    def render(self, metrics: WeeklyMetrics) -> str:
        planned = [day.planned_minutes for day in metrics.days]
        actual = [day.actual_minutes for day in metrics.days]
        top = _scale_top(planned + actual)
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        canvas = draw.Drawing(WIDTH, HEIGHT, font_family=FONT)
        canvas.append(draw.Rectangle(0, 0, WIDTH, HEIGHT, fill="white"))
        canvas.append(draw.Text(f"Planned vs actual minutes, {metrics.week}", 16, LEFT, 24, font_weight="bold"))
        for step in range(0, top + 1, max(60, top // 4 // 60 * 60)):
            y = TOP + plot_h - plot_h * step / top
            canvas.append(draw.Line(LEFT, y, LEFT + plot_w, y, stroke="#e3e3e3"))
            canvas.append(draw.Text(str(step), 11, LEFT - 6, y + 4, text_anchor="end", fill="#555"))
        slot = plot_w / len(metrics.days)
        bar = slot * 0.34
        for index, day in enumerate(metrics.days):
            x = LEFT + slot * index + slot * 0.14
            for offset, (series, value) in enumerate((("planned", planned[index]), ("actual", actual[index]))):
                height = plot_h * value / top
                rect = draw.Rectangle(x + offset * bar, TOP + plot_h - height, bar, height, fill=COLORS[series])
                rect.append_title(f"{day.date:%a %d %b}: {value} min {series}")
                canvas.append(rect)
            canvas.append(draw.Text(f"{day.date:%a %d}", 11, x + bar, HEIGHT - BOTTOM + 18, text_anchor="middle"))
        for offset, series in enumerate(COLORS):
            x = LEFT + offset * 110
            canvas.append(draw.Rectangle(x, HEIGHT - 22, 12, 12, fill=COLORS[series]))
            canvas.append(draw.Text(series, 12, x + 18, HEIGHT - 12))
        svg: str = canvas.as_svg()
        return svg
